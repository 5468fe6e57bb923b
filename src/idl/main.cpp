// liteipc-idl: OpenHarmony IDL in, C++ proxies and stubs out (docs/IDL.md).
#include <getopt.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "idl/cpp_generator.h"
#include "idl/parser.h"
#include "liteipc/version.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: liteipc-idl [OPTIONS] FILE.idl\n\n"
                 "Reads an OpenHarmony IDL file and writes the interface class, proxy and stub.\n\n"
                 "options:\n"
                 "  -o, --out DIR   where the generated files go (default: the current directory)\n"
                 "      --check     only parse and check FILE.idl\n"
                 "  -h, --help      this text\n"
                 "      --version   the version\n"
                 "\nexit status: 0 done, 1 FILE.idl has an error (printed as FILE:LINE:COLUMN: what was\n"
                 "expected) or a file could not be read or written, 2 bad usage\n");
}

bool write_file(const std::filesystem::path& path, const std::string& text) {
    // Unchanged output keeps its timestamp, so a build does not recompile what did not change.
    std::ifstream existing(path, std::ios::binary);
    if (existing) {
        std::ostringstream old;
        old << existing.rdbuf();
        if (old.str() == text) return true;
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        std::fprintf(stderr, "liteipc-idl: cannot write %s\n", path.c_str());
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    enum { kVersion = 256, kCheck };
    const option options[] = {{"out", required_argument, nullptr, 'o'},
                              {"check", no_argument, nullptr, kCheck},
                              {"help", no_argument, nullptr, 'h'},
                              {"version", no_argument, nullptr, kVersion},
                              {nullptr, 0, nullptr, 0}};
    std::filesystem::path out_dir = ".";
    bool check_only = false;
    for (int option; (option = getopt_long(argc, argv, "o:h", options, nullptr)) != -1;) {
        switch (option) {
            case 'o': out_dir = optarg; break;
            case kCheck: check_only = true; break;
            case 'h': usage(stdout); return 0;
            case kVersion: std::printf("liteipc-idl %s\n", LITEIPC_VERSION_STRING); return 0;
            default: usage(stderr); return kExitUsage;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return kExitUsage;
    }
    const std::string file = argv[optind];
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "liteipc-idl: cannot read %s\n", file.c_str());
        return kExitFailed;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto document = liteipc::idl::parse(text.str(), std::filesystem::path(file).filename().string());
    if (!document) {
        std::fprintf(stderr, "%s\n", document.error().describe().c_str());
        return kExitFailed;
    }
    if (check_only) return 0;
    const auto generated = liteipc::idl::generate_cpp(*document);
    std::error_code error;
    std::filesystem::create_directories(out_dir, error);
    if (!write_file(out_dir / generated.header_name, generated.header) ||
        !write_file(out_dir / generated.source_name, generated.source))
        return kExitFailed;
    return 0;
}
