// liteipc-idl: OpenHarmony IDL in, C++ proxies and stubs out (docs/IDL.md).
#include <getopt.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <algorithm>
#include <sstream>
#include <string>

#include "idl/c_generator.h"
#include "idl/cpp_generator.h"
#include "idl/parser.h"
#include "idl/versions.h"
#include "liteipc/version.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: liteipc-idl [OPTIONS] FILE.idl\n"
                 "       liteipc-idl --freeze DIR FILE.idl\n"
                 "       liteipc-idl --check-compat OLD.idl NEW.idl\n\n"
                 "Reads an OpenHarmony IDL file and writes its proxy and stub: in C++ NAME.h and\n"
                 "NAME.cpp, in C NAME_c.h, NAME_proxy.c and NAME_stub.c.\n\n"
                 "options:\n"
                 "  -o, --out DIR   where the generated files go (default: the current directory)\n"
                 "      --versions DIR\n"
                 "                  the frozen versions (--freeze's DIR): the generated code names the\n"
                 "                  contract of FILE.idl's line, which the kernel checks at connect, and\n"
                 "                  FILE.idl must serve clients of its last frozen version\n"
                 "  -l, --languages LIST\n"
                 "                  what to generate, comma-separated: CXX (the default), C\n"
                 "      --topic     also carry the interface on a topic (C++ only): NameTopicPublisher\n"
                 "                  and NameTopicSubscriber; every method must be oneway, with no fd\n"
                 "                  or interface parameter\n"
                 "      --check     only parse and check FILE.idl\n"
                 "      --freeze DIR\n"
                 "                  store FILE.idl's canonical form as the next version under\n"
                 "                  DIR/NAME/N.idl, if it changed and the last version's clients\n"
                 "                  can call it (only appended methods)\n"
                 "      --check-compat\n"
                 "                  whether a service of NEW.idl serves clients of OLD.idl\n"
                 "  -h, --help      this text\n"
                 "      --version   the version\n"
                 "\nexit status: 0 done, 1 FILE.idl has an error (printed as FILE:LINE:COLUMN: what was\n"
                 "expected) or a file could not be read or written, 2 bad usage\n");
}

std::optional<liteipc::idl::Document> read_idl(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "liteipc-idl: cannot read %s\n", file.c_str());
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto document = liteipc::idl::parse(text.str(), file.filename().string());
    if (!document) {
        std::fprintf(stderr, "%s\n", document.error().describe().c_str());
        return std::nullopt;
    }
    return std::move(*document);
}

bool compatible(const liteipc::idl::Document& old, const liteipc::idl::Document& now, const std::string& old_name) {
    const auto errors = liteipc::idl::compatibility_errors(old, now);
    for (const auto& error : errors)
        std::fprintf(stderr, "liteipc-idl: %s: incompatible with %s: %s\n", now.file.c_str(), old_name.c_str(), error.c_str());
    return errors.empty();
}

// The versions of an interface, DIR/NAME/1.idl, 2.idl, ...: the highest number, 0 when none.
int latest_version(const std::filesystem::path& dir) {
    int latest = 0;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        if (entry.path().extension() != ".idl") continue;
        const std::string stem = entry.path().stem().string();
        if (stem.empty() || stem.size() > 6 || stem.find_first_not_of("0123456789") != std::string::npos) continue;
        latest = std::max(latest, std::stoi(stem));
    }
    return latest;
}

// "CXX", "C", "C,CXX": which generators run.
bool parse_languages(const std::string& list, bool& cxx, bool& c) {
    cxx = c = false;
    std::stringstream items(list);
    for (std::string item; std::getline(items, item, ',');) {
        if (item == "CXX" || item == "cxx" || item == "C++") cxx = true;
        else if (item == "C" || item == "c") c = true;
        else {
            std::fprintf(stderr, "liteipc-idl: --languages: '%s' is neither C nor CXX\n", item.c_str());
            return false;
        }
    }
    if (cxx || c) return true;
    std::fprintf(stderr, "liteipc-idl: --languages: name C, CXX or both\n");
    return false;
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

// Where `now` stands in DIR/NAME/: the contract of its line (version 1's hash) and its frozen
// version. Without frozen versions, its own hash and version 0.
std::optional<liteipc::idl::Lineage> lineage_of(const std::filesystem::path& versions, const liteipc::idl::Document& now) {
    liteipc::idl::Lineage lineage{liteipc::idl::interface_hash(now), 0};
    if (versions.empty()) return lineage;
    const std::filesystem::path dir = versions / liteipc::idl::qualified_name(now.interface);
    const int latest = latest_version(dir);
    if (latest == 0) return lineage;
    const std::filesystem::path last_path = dir / (std::to_string(latest) + ".idl");
    auto first = read_idl(dir / "1.idl");
    auto last = read_idl(last_path);
    if (!first || !last) return std::nullopt;
    if (!compatible(*last, now, last_path.string())) return std::nullopt;
    lineage.contract_hash = liteipc::idl::interface_hash(*first);
    if (liteipc::idl::canonical_form(*last) == liteipc::idl::canonical_form(now)) lineage.version = latest;
    return lineage;
}

int freeze(const std::filesystem::path& versions, const liteipc::idl::Document& now) {
    const std::string name = liteipc::idl::qualified_name(now.interface);
    const std::filesystem::path dir = versions / name;
    const int latest = latest_version(dir);
    const std::string canonical = liteipc::idl::canonical_form(now);
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(liteipc::idl::interface_hash(now)));
    if (latest > 0) {
        const std::filesystem::path last = dir / (std::to_string(latest) + ".idl");
        auto old = read_idl(last);
        if (!old) return kExitFailed;
        if (liteipc::idl::canonical_form(*old) == canonical) {
            std::printf("%s: unchanged at version %d (hash %s)\n", name.c_str(), latest, hash);
            return 0;
        }
        if (!compatible(*old, now, last.string())) return kExitFailed;
    }
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    const std::filesystem::path file = dir / (std::to_string(latest + 1) + ".idl");
    const std::string text = "// " + name + " version " + std::to_string(latest + 1) + ", frozen by liteipc-idl: hash " +
                             hash + ". Do not edit: freeze a new version.\n" + canonical;
    if (!write_file(file, text)) return kExitFailed;
    std::printf("%s: version %d (hash %s) in %s\n", name.c_str(), latest + 1, hash, file.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    enum { kVersion = 256, kCheck, kFreeze, kCheckCompat, kVersions, kTopic };
    const option options[] = {{"out", required_argument, nullptr, 'o'},
                              {"languages", required_argument, nullptr, 'l'},
                              {"check", no_argument, nullptr, kCheck},
                              {"freeze", required_argument, nullptr, kFreeze},
                              {"check-compat", no_argument, nullptr, kCheckCompat},
                              {"versions", required_argument, nullptr, kVersions},
                              {"topic", no_argument, nullptr, kTopic},
                              {"help", no_argument, nullptr, 'h'},
                              {"version", no_argument, nullptr, kVersion},
                              {nullptr, 0, nullptr, 0}};
    std::filesystem::path out_dir = ".";
    bool check_only = false, check_compat = false, cxx = true, c = false, topic = false;
    std::filesystem::path versions, frozen;
    for (int option; (option = getopt_long(argc, argv, "o:l:h", options, nullptr)) != -1;) {
        switch (option) {
            case 'o': out_dir = optarg; break;
            case 'l':
                if (!parse_languages(optarg, cxx, c)) return kExitUsage;
                break;
            case kCheck: check_only = true; break;
            case kFreeze: versions = optarg; break;
            case kCheckCompat: check_compat = true; break;
            case kVersions: frozen = optarg; break;
            case kTopic: topic = true; break;
            case 'h': usage(stdout); return 0;
            case kVersion: std::printf("liteipc-idl %s\n", LITEIPC_VERSION_STRING); return 0;
            default: usage(stderr); return kExitUsage;
        }
    }
    if (check_compat) {
        if (optind + 2 != argc) {
            usage(stderr);
            return kExitUsage;
        }
        auto old = read_idl(argv[optind]);
        auto now = read_idl(argv[optind + 1]);
        if (!old || !now) return kExitFailed;
        if (!compatible(*old, *now, argv[optind])) return kExitFailed;
        std::printf("%s serves clients of %s\n", argv[optind + 1], argv[optind]);
        return 0;
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return kExitUsage;
    }
    auto document = read_idl(argv[optind]);
    if (!document) return kExitFailed;
    if (!versions.empty()) return freeze(versions, *document);
    liteipc::idl::ParseError no_c_form;
    if (c && !liteipc::idl::check_c(*document, no_c_form)) {
        std::fprintf(stderr, "%s\n", no_c_form.describe().c_str());
        return kExitFailed;
    }
    if (topic && !cxx) {
        std::fprintf(stderr, "liteipc-idl: --topic: topics are generated in C++ (--languages CXX)\n");
        return kExitUsage;
    }
    liteipc::idl::ParseError no_topic;
    if (topic && !liteipc::idl::check_topic(*document, no_topic)) {
        std::fprintf(stderr, "%s\n", no_topic.describe().c_str());
        return kExitFailed;
    }
    const auto lineage = lineage_of(frozen, *document);
    if (!lineage) return kExitFailed;
    if (check_only) return 0;
    std::error_code error;
    std::filesystem::create_directories(out_dir, error);
    if (cxx) {
        const auto generated = liteipc::idl::generate_cpp(*document, *lineage, topic);
        if (!write_file(out_dir / generated.header_name, generated.header) ||
            !write_file(out_dir / generated.source_name, generated.source))
            return kExitFailed;
    }
    if (c) {
        const auto generated = liteipc::idl::generate_c(*document, *lineage);
        if (!write_file(out_dir / generated.header_name, generated.header) ||
            !write_file(out_dir / generated.proxy_name, generated.proxy) ||
            !write_file(out_dir / generated.stub_name, generated.stub))
            return kExitFailed;
    }
    return 0;
}
