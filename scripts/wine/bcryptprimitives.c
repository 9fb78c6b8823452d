#include <windows.h>
#include <ntsecapi.h>
/* Wine 8 lacks bcryptprimitives.dll; Rust's std needs ProcessPrng from it. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk)) return FALSE;
        data += chunk; len -= chunk;
    }
    return TRUE;
}
