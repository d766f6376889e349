/* SPDX-License-Identifier: MIT */
/*
 * fp16.c - portable conversions of single fp16 and bf16 values to and from
 * fp32 (no F16C needed); the row converters live in the kernel files.
 */
#include "kernels_impl.h"

float llmos_fp16_to_fp32(llmos_fp16 h)
{
	return llmos_fp16_to_fp32_inline(h);
}

llmos_fp16 llmos_fp32_to_fp16(float f)
{
	return llmos_fp32_to_fp16_inline(f);
}

float llmos_bf16_to_fp32(llmos_bf16 h)
{
	return llmos_bf16_to_fp32_inline(h);
}

llmos_bf16 llmos_fp32_to_bf16(float f)
{
	return llmos_fp32_to_bf16_inline(f);
}
