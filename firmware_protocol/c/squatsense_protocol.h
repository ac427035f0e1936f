/*
 * squatsense_protocol.h -- reference encoder of the squatsense sensor protocol, version 1.
 *
 * Header-only C99 for sensor firmware (nRF52, ESP32, any MCU): no malloc, no floats, no
 * globals. Every multi-byte field is written byte by byte, least significant first, so
 * the output is identical on little- and big-endian CPUs. The layouts are specified in
 * firmware_protocol/PROTOCOL.md; firmware_protocol/vectors/vectors.json holds the golden
 * bytes this file must reproduce (checked by tests/test_protocol_vectors.py).
 *
 * Every encoder takes the output buffer and its capacity and returns the number of bytes
 * written, or 0 if the buffer is too small or an argument is out of range (nothing
 * useful is ever partially written).
 *
 *   sqs_max_samples_per_frame(att_mtu)          samples that fit one notification
 *   sqs_encode_data_frame(...)                  data frame for the data characteristic
 *   sqs_encode_time_sync(...)                   answer to a time-sync request
 *   sqs_encode_info(...)                        value of the info characteristic
 *   sqs_encode_record(...)                      byte-stream record with CRC-32
 *   sqs_decode_control(...)                     parse a write to the control characteristic
 *
 * Typical firmware loop at 100 Hz: read samples from the IMU FIFO into sqs_sample_t,
 * keep the counter of the first buffered sample and its timestamp (us, free-running
 * u32), and send a frame when it holds sqs_max_samples_per_frame(mtu) samples or the
 * oldest one is 30 ms old, whichever comes first (a full frame at MTU 247 would hold
 * 190 ms, too late for a live cue).
 */
#ifndef SQUATSENSE_PROTOCOL_H
#define SQUATSENSE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define SQS_PROTOCOL_VERSION 1u

/* Data characteristic: first byte is (SQS_PROTOCOL_VERSION << 4 | frame type). */
#define SQS_FRAME_DATA 1u
#define SQS_FRAME_TIME_SYNC 2u
#define SQS_FRAME_HEADER_SIZE 8u
#define SQS_SAMPLE_SIZE 12u
#define SQS_ATT_NOTIFY_OVERHEAD 3u  /* notification payload = ATT_MTU - 3 */
#define SQS_MAX_ATT_VALUE 512u      /* longest attribute value allowed by ATT */
#define SQS_MAX_SAMPLES_PER_FRAME 42u /* (512 - 8) / 12 */
#define SQS_TIME_SYNC_FRAME_SIZE 10u

/* Info characteristic. */
#define SQS_INFO_SIZE 22u

/* Byte-stream envelope. */
#define SQS_RECORD_MAGIC0 0xA5u
#define SQS_RECORD_MAGIC1 0x5Au
#define SQS_RECORD_HEADER_SIZE 8u
#define SQS_RECORD_CRC_SIZE 4u
#define SQS_RECORD_MAX_BODY 1024u
#define SQS_RECORD_FLAG_HOST_TIME 0x80u

enum sqs_record_kind {
    SQS_RECORD_FRAME = 1,     /* a data-characteristic notification, verbatim */
    SQS_RECORD_INFO = 2,      /* the info characteristic value */
    SQS_RECORD_WITMOTION = 3, /* a WitMotion notification, verbatim */
    SQS_RECORD_CONTROL = 4    /* a control command the host wrote */
};

enum sqs_imu_chip {
    SQS_CHIP_UNKNOWN = 0,
    SQS_CHIP_MPU6050 = 1,
    SQS_CHIP_MPU6500 = 2,
    SQS_CHIP_MPU9250 = 3,
    SQS_CHIP_ICM20948 = 4,
    SQS_CHIP_ICM42605 = 5,
    SQS_CHIP_ICM42688P = 6,
    SQS_CHIP_BMI160 = 7,
    SQS_CHIP_BMI270 = 8,
    SQS_CHIP_LSM6DS3 = 9,
    SQS_CHIP_LSM6DSO = 10,
    SQS_CHIP_LSM6DSOX = 11,
    SQS_CHIP_SIMULATED = 255
};

enum sqs_placement {
    SQS_PLACEMENT_UNSET = 0,
    SQS_PLACEMENT_SACRUM = 1,
    SQS_PLACEMENT_LUMBAR = 2,
    SQS_PLACEMENT_SHIN_LEFT = 3,
    SQS_PLACEMENT_SHIN_RIGHT = 4
};

enum sqs_opcode {
    SQS_OP_START_STREAMING = 0x01,
    SQS_OP_STOP_STREAMING = 0x02,
    SQS_OP_SET_SAMPLE_RATE = 0x03,  /* u16 sample_rate_hz */
    SQS_OP_SET_RANGES = 0x04,       /* u8 acc_range_g, u16 gyr_range_dps */
    SQS_OP_SET_PLACEMENT = 0x05,    /* u8 placement */
    SQS_OP_TIME_SYNC_REQUEST = 0x06 /* u32 token */
};

/* Results of sqs_decode_control; answer the write with the ATT error code named. */
enum sqs_control_status {
    SQS_CONTROL_OK = 0,
    SQS_CONTROL_BAD_LENGTH = -1,     /* ATT 0x0D Invalid Attribute Value Length */
    SQS_CONTROL_UNKNOWN_OPCODE = -2, /* ATT 0x80 (application error): unknown command */
    SQS_CONTROL_BAD_VALUE = -3       /* ATT 0xFF Out of Range */
};

/* ATT application error codes (range 0x80-0x9F) of the control characteristic. */
#define SQS_ATT_ERR_UNKNOWN_COMMAND 0x80u /* opcode not known */
#define SQS_ATT_ERR_BUSY_STREAMING 0x81u  /* SET_SAMPLE_RATE or SET_RANGES while streaming */

/* One IMU sample in raw counts, sensor axes. */
typedef struct {
    int16_t acc[3]; /* x, y, z; scale: info.acc_scale_ng_per_lsb */
    int16_t gyr[3]; /* x, y, z; scale: info.gyr_scale_ndps_per_lsb */
} sqs_sample_t;

/* Contents of the info characteristic. */
typedef struct {
    uint8_t chip;                    /* enum sqs_imu_chip */
    uint8_t placement;               /* enum sqs_placement, as provisioned */
    uint8_t acc_range_g;             /* full scale, +-g */
    uint16_t gyr_range_dps;          /* full scale, +-deg/s */
    uint8_t fw_major, fw_minor, fw_patch;
    uint32_t period_us;              /* sample period, us */
    uint32_t acc_scale_ng_per_lsb;   /* 1e-9 g per count (488281 at +-16 g) */
    uint32_t gyr_scale_ndps_per_lsb; /* 1e-9 deg/s per count (60975610 for 16.4 LSB/dps) */
} sqs_info_t;

/* A decoded control command; fields the opcode does not use are 0. */
typedef struct {
    uint8_t opcode; /* enum sqs_opcode */
    uint16_t sample_rate_hz;
    uint8_t acc_range_g;
    uint16_t gyr_range_dps;
    uint8_t placement;
    uint32_t token;
} sqs_control_t;

static inline void sqs_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static inline void sqs_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)(v >> 24);
}

static inline void sqs_put_u64(uint8_t *p, uint64_t v)
{
    sqs_put_u32(p, (uint32_t)(v & 0xFFFFFFFFu));
    sqs_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline void sqs_put_i16(uint8_t *p, int16_t v)
{
    /* Conversion to unsigned is defined as modulo 2^16: two's complement bytes. */
    sqs_put_u16(p, (uint16_t)v);
}

static inline uint16_t sqs_get_u16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] | ((unsigned)p[1] << 8));
}

static inline uint32_t sqs_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Samples that fit one notification at this ATT_MTU: 1 at 23, 19 at 247, 42 max. */
static inline size_t sqs_max_samples_per_frame(uint16_t att_mtu)
{
    size_t payload;
    if (att_mtu < 23u) {
        return 0u;
    }
    payload = (size_t)att_mtu - SQS_ATT_NOTIFY_OVERHEAD;
    if (payload > SQS_MAX_ATT_VALUE) {
        payload = SQS_MAX_ATT_VALUE;
    }
    return (payload - SQS_FRAME_HEADER_SIZE) / SQS_SAMPLE_SIZE;
}

/*
 * Data frame: n (1..42) samples; counter0 and t0_us belong to samples[0], sample i is
 * implied to have counter counter0 + i (mod 2^16) and time t0_us + i * period_us
 * (mod 2^32). Needs 8 + 12 * n bytes of out.
 */
static inline size_t sqs_encode_data_frame(uint8_t *out, size_t cap, uint16_t counter0,
                                           uint32_t t0_us, const sqs_sample_t *samples, size_t n)
{
    size_t i, k;
    size_t len = SQS_FRAME_HEADER_SIZE + SQS_SAMPLE_SIZE * n;
    if (n == 0u || n > SQS_MAX_SAMPLES_PER_FRAME || cap < len) {
        return 0u;
    }
    out[0] = (uint8_t)((SQS_PROTOCOL_VERSION << 4) | SQS_FRAME_DATA);
    out[1] = (uint8_t)n;
    sqs_put_u16(out + 2, counter0);
    sqs_put_u32(out + 4, t0_us);
    for (i = 0; i < n; ++i) {
        uint8_t *p = out + SQS_FRAME_HEADER_SIZE + SQS_SAMPLE_SIZE * i;
        for (k = 0; k < 3u; ++k) {
            sqs_put_i16(p + 2u * k, samples[i].acc[k]);
            sqs_put_i16(p + 6u + 2u * k, samples[i].gyr[k]);
        }
    }
    return len;
}

/* Time-sync frame: the token of the request and the sensor time (us) it was received. */
static inline size_t sqs_encode_time_sync(uint8_t *out, size_t cap, uint32_t token, uint32_t t_us)
{
    if (cap < SQS_TIME_SYNC_FRAME_SIZE) {
        return 0u;
    }
    out[0] = (uint8_t)((SQS_PROTOCOL_VERSION << 4) | SQS_FRAME_TIME_SYNC);
    out[1] = 0u;
    sqs_put_u32(out + 2, token);
    sqs_put_u32(out + 6, t_us);
    return SQS_TIME_SYNC_FRAME_SIZE;
}

/* Info characteristic value (22 bytes). */
static inline size_t sqs_encode_info(uint8_t *out, size_t cap, const sqs_info_t *info)
{
    if (cap < SQS_INFO_SIZE) {
        return 0u;
    }
    out[0] = (uint8_t)SQS_PROTOCOL_VERSION;
    out[1] = info->chip;
    out[2] = info->placement;
    out[3] = info->acc_range_g;
    sqs_put_u16(out + 4, info->gyr_range_dps);
    out[6] = info->fw_major;
    out[7] = info->fw_minor;
    out[8] = info->fw_patch;
    out[9] = 0u; /* reserved */
    sqs_put_u32(out + 10, info->period_us);
    sqs_put_u32(out + 14, info->acc_scale_ng_per_lsb);
    sqs_put_u32(out + 18, info->gyr_scale_ndps_per_lsb);
    return SQS_INFO_SIZE;
}

/*
 * CRC-32 as zlib.crc32 (IEEE 802.3, reflected, poly 0xEDB88320): start with crc = 0 and
 * chain calls over consecutive pieces. Bitwise, so no 1 KiB table in flash.
 */
static inline uint32_t sqs_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    size_t i;
    int bit;
    crc = ~crc;
    for (i = 0; i < n; ++i) {
        crc ^= p[i];
        for (bit = 0; bit < 8; ++bit) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/*
 * Byte-stream record around a payload (a frame, the info value, ...). host_time_ns may
 * be NULL (firmware has no host clock); otherwise the record carries it. The payload
 * must not overlap out. Needs 12 + len (+ 8 with host time) bytes of out.
 */
static inline size_t sqs_encode_record(uint8_t *out, size_t cap, uint8_t kind, uint8_t channel,
                                       const uint8_t *payload, size_t len,
                                       const uint64_t *host_time_ns)
{
    size_t i;
    size_t body = len + (host_time_ns != NULL ? 8u : 0u);
    size_t total = SQS_RECORD_HEADER_SIZE + body + SQS_RECORD_CRC_SIZE;
    uint8_t *b;
    if (kind == 0u || kind > 0x7Fu || body > SQS_RECORD_MAX_BODY || cap < total) {
        return 0u;
    }
    b = out + SQS_RECORD_HEADER_SIZE;
    out[0] = (uint8_t)SQS_RECORD_MAGIC0;
    out[1] = (uint8_t)SQS_RECORD_MAGIC1;
    out[2] = (uint8_t)(kind | (host_time_ns != NULL ? SQS_RECORD_FLAG_HOST_TIME : 0u));
    out[3] = channel;
    sqs_put_u16(out + 4, (uint16_t)body);
    sqs_put_u16(out + 6, (uint16_t)(body ^ 0xFFFFu));
    if (host_time_ns != NULL) {
        sqs_put_u64(b, *host_time_ns);
        b += 8;
    }
    for (i = 0; i < len; ++i) {
        b[i] = payload[i];
    }
    sqs_put_u32(out + SQS_RECORD_HEADER_SIZE + body,
                sqs_crc32(0u, out + 2, SQS_RECORD_HEADER_SIZE - 2u + body));
    return total;
}

/*
 * Parse a write to the control characteristic. Returns SQS_CONTROL_OK and fills *cmd,
 * or a negative enum sqs_control_status (the ATT error to answer with).
 */
static inline int sqs_decode_control(const uint8_t *p, size_t len, sqs_control_t *cmd)
{
    size_t need;
    cmd->opcode = 0u;
    cmd->sample_rate_hz = 0u;
    cmd->acc_range_g = 0u;
    cmd->gyr_range_dps = 0u;
    cmd->placement = 0u;
    cmd->token = 0u;
    if (len == 0u) {
        return SQS_CONTROL_BAD_LENGTH;
    }
    switch (p[0]) {
    case SQS_OP_START_STREAMING:
    case SQS_OP_STOP_STREAMING:
        need = 1u;
        break;
    case SQS_OP_SET_SAMPLE_RATE:
        need = 3u;
        break;
    case SQS_OP_SET_RANGES:
        need = 4u;
        break;
    case SQS_OP_SET_PLACEMENT:
        need = 2u;
        break;
    case SQS_OP_TIME_SYNC_REQUEST:
        need = 5u;
        break;
    default:
        return SQS_CONTROL_UNKNOWN_OPCODE;
    }
    if (len != need) {
        return SQS_CONTROL_BAD_LENGTH;
    }
    cmd->opcode = p[0];
    switch (p[0]) {
    case SQS_OP_SET_SAMPLE_RATE:
        cmd->sample_rate_hz = sqs_get_u16(p + 1);
        return cmd->sample_rate_hz != 0u ? SQS_CONTROL_OK : SQS_CONTROL_BAD_VALUE;
    case SQS_OP_SET_RANGES:
        cmd->acc_range_g = p[1];
        cmd->gyr_range_dps = sqs_get_u16(p + 2);
        return (cmd->acc_range_g != 0u && cmd->gyr_range_dps != 0u) ? SQS_CONTROL_OK
                                                                      : SQS_CONTROL_BAD_VALUE;
    case SQS_OP_SET_PLACEMENT:
        cmd->placement = p[1];
        return cmd->placement <= (uint8_t)SQS_PLACEMENT_SHIN_RIGHT ? SQS_CONTROL_OK
                                                                  : SQS_CONTROL_BAD_VALUE;
    case SQS_OP_TIME_SYNC_REQUEST:
        cmd->token = sqs_get_u32(p + 1);
        return SQS_CONTROL_OK;
    default:
        return SQS_CONTROL_OK;
    }
}

#endif /* SQUATSENSE_PROTOCOL_H */
