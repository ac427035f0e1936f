/*
 * vector_tool.c -- drives squatsense_protocol.h for the golden-vector test.
 *
 * Reads commands as whitespace-separated tokens on stdin and prints one line per
 * command on stdout: the encoded bytes as lowercase hex, or decimal numbers.
 *
 *   mtu ATT_MTU                                   -> max samples per frame
 *   data COUNTER0 T0_US N  (AX AY AZ GX GY GZ)*N  -> data frame
 *   timesync TOKEN T_US                           -> time-sync frame
 *   info CHIP PLACEMENT ACC_G GYR_DPS MAJOR MINOR PATCH PERIOD_US ACC_NG GYR_NDPS
 *                                                 -> info value
 *   record KIND CHANNEL HAS_HOST_TIME HOST_TIME_NS LEN BYTE*LEN
 *                                                 -> envelope record
 *   control LEN BYTE*LEN                          -> STATUS OPCODE RATE ACC_G GYR_DPS
 *                                                    PLACEMENT TOKEN
 *
 * Build: cc -std=c99 -Wall -Wextra -Werror -pedantic vector_tool.c -o vector_tool
 * Exits 2 on malformed input, 3 if an encoder refuses its arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "squatsense_protocol.h"

static uint8_t g_out[SQS_RECORD_HEADER_SIZE + SQS_RECORD_MAX_BODY + SQS_RECORD_CRC_SIZE];
static uint8_t g_in[SQS_RECORD_MAX_BODY];
static sqs_sample_t g_samples[SQS_MAX_SAMPLES_PER_FRAME];

static void fail(const char *what)
{
    fprintf(stderr, "vector_tool: bad input: %s\n", what);
    exit(2);
}

static long long read_int(long long lo, long long hi)
{
    char tok[64];
    char *end;
    long long v;
    if (scanf("%63s", tok) != 1) {
        fail("missing number");
    }
    errno = 0;
    v = strtoll(tok, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        fail(tok);
    }
    return v;
}

static uint64_t read_u64(void)
{
    char tok[64];
    char *end;
    unsigned long long v;
    if (scanf("%63s", tok) != 1 || tok[0] == '-') {
        fail("missing or negative u64");
    }
    errno = 0;
    v = strtoull(tok, &end, 10);
    if (errno != 0 || *end != '\0') {
        fail(tok);
    }
    return (uint64_t)v;
}

static void print_hex(const uint8_t *p, size_t n)
{
    size_t i;
    if (n == 0u) {
        fprintf(stderr, "vector_tool: encoder refused its arguments\n");
        exit(3);
    }
    for (i = 0; i < n; ++i) {
        printf("%02x", p[i]);
    }
    printf("\n");
}

static size_t read_bytes(void)
{
    size_t i;
    size_t n = (size_t)read_int(0, (long long)sizeof g_in);
    for (i = 0; i < n; ++i) {
        g_in[i] = (uint8_t)read_int(0, 255);
    }
    return n;
}

int main(void)
{
    char cmd[32];
    while (scanf("%31s", cmd) == 1) {
        if (strcmp(cmd, "mtu") == 0) {
            uint16_t mtu = (uint16_t)read_int(0, 65535);
            printf("%lu\n", (unsigned long)sqs_max_samples_per_frame(mtu));
        } else if (strcmp(cmd, "data") == 0) {
            size_t i, k, n;
            uint16_t c0 = (uint16_t)read_int(0, 65535);
            uint32_t t0 = (uint32_t)read_int(0, 4294967295LL);
            n = (size_t)read_int(1, SQS_MAX_SAMPLES_PER_FRAME);
            for (i = 0; i < n; ++i) {
                for (k = 0; k < 3u; ++k) {
                    g_samples[i].acc[k] = (int16_t)read_int(-32768, 32767);
                }
                for (k = 0; k < 3u; ++k) {
                    g_samples[i].gyr[k] = (int16_t)read_int(-32768, 32767);
                }
            }
            print_hex(g_out, sqs_encode_data_frame(g_out, sizeof g_out, c0, t0, g_samples, n));
        } else if (strcmp(cmd, "timesync") == 0) {
            uint32_t token = (uint32_t)read_int(0, 4294967295LL);
            uint32_t t_us = (uint32_t)read_int(0, 4294967295LL);
            print_hex(g_out, sqs_encode_time_sync(g_out, sizeof g_out, token, t_us));
        } else if (strcmp(cmd, "info") == 0) {
            sqs_info_t info;
            info.chip = (uint8_t)read_int(0, 255);
            info.placement = (uint8_t)read_int(0, 255);
            info.acc_range_g = (uint8_t)read_int(0, 255);
            info.gyr_range_dps = (uint16_t)read_int(0, 65535);
            info.fw_major = (uint8_t)read_int(0, 255);
            info.fw_minor = (uint8_t)read_int(0, 255);
            info.fw_patch = (uint8_t)read_int(0, 255);
            info.period_us = (uint32_t)read_int(0, 4294967295LL);
            info.acc_scale_ng_per_lsb = (uint32_t)read_int(0, 4294967295LL);
            info.gyr_scale_ndps_per_lsb = (uint32_t)read_int(0, 4294967295LL);
            print_hex(g_out, sqs_encode_info(g_out, sizeof g_out, &info));
        } else if (strcmp(cmd, "record") == 0) {
            uint8_t kind = (uint8_t)read_int(0, 255);
            uint8_t channel = (uint8_t)read_int(0, 255);
            int has_time = (int)read_int(0, 1);
            uint64_t host_time_ns = read_u64();
            size_t n = read_bytes();
            print_hex(g_out, sqs_encode_record(g_out, sizeof g_out, kind, channel, g_in, n,
                                               has_time ? &host_time_ns : NULL));
        } else if (strcmp(cmd, "control") == 0) {
            sqs_control_t c;
            size_t n = read_bytes();
            int status = sqs_decode_control(g_in, n, &c);
            printf("%d %u %u %u %u %u %lu\n", status, (unsigned)c.opcode, (unsigned)c.sample_rate_hz,
                   (unsigned)c.acc_range_g, (unsigned)c.gyr_range_dps, (unsigned)c.placement,
                   (unsigned long)c.token);
        } else {
            fail(cmd);
        }
    }
    return 0;
}
