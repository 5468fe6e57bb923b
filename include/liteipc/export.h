/* What libliteipc and libliteipc_skeleton export. Both are built with hidden visibility
 * (-fvisibility=hidden -fvisibility-inlines-hidden), so only a declaration marked LITEIPC_API
 * (a public class, function or C API function of include/liteipc/) is in a library's dynamic
 * symbol table; everything else, the runtime's internals included, stays inside the library.
 * Marking a declaration in a program that uses the library changes nothing. */
#ifndef LITEIPC_EXPORT_H
#define LITEIPC_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define LITEIPC_API __attribute__((visibility("default")))
/* A nested type of an exported class that is the library's own (an Impl): it would otherwise take
 * the enclosing class's visibility. */
#define LITEIPC_HIDDEN __attribute__((visibility("hidden")))
#else
#define LITEIPC_API
#define LITEIPC_HIDDEN
#endif

#endif /* LITEIPC_EXPORT_H */
