build-san/obj/tests/unit/test_device.o: tests/unit/test_device.c \
 include/llmos/llmos.h
include/llmos/llmos.h:
