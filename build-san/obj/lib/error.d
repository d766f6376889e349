build-san/obj/lib/error.o: lib/error.c lib/internal.h \
 include/llmos/llmos.h
lib/internal.h:
include/llmos/llmos.h:
