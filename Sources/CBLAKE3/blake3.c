#include "cblake3.h"
int cblake3_placeholder(void) { return 0; }
