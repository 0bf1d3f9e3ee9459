/*
 * resources.c - is this machine out of descriptors?
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "resources.h"

bool resources_errno_is_local(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

bool resources_descriptors_exhausted(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == EMFILE || errno == ENFILE;
}
