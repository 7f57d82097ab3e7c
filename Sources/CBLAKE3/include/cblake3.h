#ifndef CBLAKE3_H
#define CBLAKE3_H
/* Filled in by the BLAKE3 work. */
int cblake3_placeholder(void);
#endif
