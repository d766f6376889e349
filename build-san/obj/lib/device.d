build-san/obj/lib/device.o: lib/device.c include/uapi/linux/llmos.h \
 lib/internal.h include/llmos/llmos.h
include/uapi/linux/llmos.h:
lib/internal.h:
include/llmos/llmos.h:
