/*
 * stb_image_impl.c — stb_image compiled into the image harness with the
 * fuzzer's instrumentation. nerve links Debian's prebuilt libstb, which
 * libFuzzer cannot see into (the harness found 19 edges); these
 * definitions of the same header's functions take the place of the
 * library's in fuzz_image, so mutation is guided through the decoders.
 */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
