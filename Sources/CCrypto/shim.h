// OpenSSL's libcrypto, for MD5 (checksums of data files, digests of sweep plans).
#include <openssl/evp.h>
