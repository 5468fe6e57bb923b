#include "config.h"

#include "common/log.h"
#include "liteipc_abi.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace liteipc::loader {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    while (!(line = trim(line)).empty()) {
        std::size_t end = line.find_first_of(" \t");
        out.push_back(line.substr(0, end));
        if (end == std::string_view::npos) break;
        line.remove_prefix(end);
    }
    return out;
}

bool to_number(std::string_view text, uint64_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

// "anyone", "nobody", "uid:N", "user:NAME", "gid:N", "group:NAME"
bool parse_who(std::string_view text, OwnRule& rule, std::string& why) {
    if (text == "anyone") return rule.who = OwnRule::Who::anyone, true;
    if (text == "nobody") return rule.who = OwnRule::Who::nobody, true;
    std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) return why = "expected anyone, nobody, uid:N, user:NAME, gid:N or group:NAME", false;
    std::string_view kind = text.substr(0, colon);
    std::string value(text.substr(colon + 1));
    uint64_t number = 0;
    if (kind == "uid" || kind == "gid") {
        if (!to_number(value, number) || number > UINT32_MAX) return why = "bad number '" + value + "'", false;
        rule.who = kind == "uid" ? OwnRule::Who::uid : OwnRule::Who::gid;
        rule.id = static_cast<uint32_t>(number);
        return true;
    }
    // A user or group that does not exist (yet) keeps its names reserved for no one: the rule
    // still says the names are not free, and a reload after the account is made gives them to it.
    auto unknown = [&](const char* what) {
        LITEIPC_LOG(warn, "own %s by %s: no %s '%s' yet; its names are owned by no one until it exists and "
                    "the config is reloaded", rule.pattern.c_str(), std::string(text).c_str(), what, value.c_str());
        rule.who = OwnRule::Who::nobody;
        return true;
    };
    if (kind == "user") {
        passwd* pw = ::getpwnam(value.c_str());
        if (!pw) return unknown("user");
        rule.who = OwnRule::Who::uid;
        rule.id = pw->pw_uid;
        return true;
    }
    if (kind == "group") {
        group* gr = ::getgrnam(value.c_str());
        if (!gr) return unknown("group");
        rule.who = OwnRule::Who::gid;
        rule.id = gr->gr_gid;
        return true;
    }
    return why = "unknown owner kind '" + std::string(kind) + "'", false;
}

}  // namespace

bool OwnRule::matches(std::string_view name) const {
    if (!pattern.empty() && pattern.back() == '*')
        return name.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1));
    return name == pattern;
}

std::string OwnRule::owner() const {
    switch (who) {
        case Who::anyone: return "anyone";
        case Who::nobody: return "nobody";
        case Who::uid: return "uid:" + std::to_string(id);
        case Who::gid: return "gid:" + std::to_string(id);
    }
    return "nobody";
}

bool NamePolicy::may_own(std::string_view name, uid_t uid, const std::vector<gid_t>& groups) const {
    if (uid == 0) return true;
    bool listed = false;
    for (const OwnRule& rule : rules) {
        if (!rule.matches(name)) continue;
        listed = true;
        switch (rule.who) {
            case OwnRule::Who::anyone: return true;
            case OwnRule::Who::nobody: break;
            case OwnRule::Who::uid:
                if (rule.id == uid) return true;
                break;
            case OwnRule::Who::gid:
                for (gid_t g : groups)
                    if (g == rule.id) return true;
                break;
        }
    }
    return listed ? false : unlisted_anyone;
}

Result<LoaderConfig> LoaderConfig::parse(std::string_view text, const std::string& origin) {
    LoaderConfig config;
    std::size_t line_no = 0;
    while (!text.empty()) {
        std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        ++line_no;
        if (std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        auto w = words(line);
        if (w.empty()) continue;
        auto bad = [&](const std::string& why) {
            return fail(Errc::invalid_argument, origin + ":" + std::to_string(line_no) + ": " + why);
        };
        // own PATTERN by WHO
        if (w[0] == "own") {
            if (w.size() != 4 || w[2] != "by") return bad("expected: own NAME|PREFIX* by WHO");
            OwnRule rule;
            rule.pattern = std::string(w[1]);
            std::string why;
            if (!parse_who(w[3], rule, why)) return bad(why);
            config.names.rules.push_back(std::move(rule));
            continue;
        }
        // KEY = VALUE
        if (w.size() != 3 || w[1] != "=") return bad("expected KEY = VALUE or an own rule");
        std::string_view key = w[0], value = w[2];
        if (key == "unlisted_names") {
            if (value == "anyone") config.names.unlisted_anyone = true;
            else if (value == "nobody") config.names.unlisted_anyone = false;
            else return bad("unlisted_names is anyone or nobody");
            continue;
        }
        uint64_t number = 0;
        if (!to_number(value, number)) return bad("'" + std::string(value) + "' is not a number");
        // A reserve leaves members at least one slot: BPF reads a limit of 0 as none.
        if (key.starts_with("reserve.")) {
            struct Table {
                std::string_view key;
                uint64_t* reserve;
                uint64_t capacity;
            };
            const Table tables[] = {{"reserve.processes", &config.reserves.processes, LITEIPC_MAX_PROCS},
                                    {"reserve.services", &config.reserves.services, LITEIPC_MAX_SERVICES},
                                    {"reserve.connections", &config.reserves.connections, LITEIPC_MAX_CONNS},
                                    {"reserve.grants", &config.reserves.grants, LITEIPC_MAX_GRANTS},
                                    {"reserve.subscriptions", &config.reserves.subscriptions, LITEIPC_MAX_SUBS}};
            // The socket table's size is the fd limit's room, known once the loader runs (or
            // max_sockets): checked against it after the whole file is read.
            if (key == "reserve.sockets") {
                config.reserves.sockets = number;
                continue;
            }
            auto table = std::find_if(std::begin(tables), std::end(tables), [&](const Table& t) { return t.key == key; });
            if (table == std::end(tables)) return bad("unknown key '" + std::string(key) + "'");
            if (number >= table->capacity)
                return bad(std::string(key) + " is below " + std::to_string(table->capacity) + ", its table's size");
            *table->reserve = number;
            continue;
        }
        if (key == "quota.processes") config.quotas.processes = number;
        else if (key == "quota.sockets") config.quotas.sockets = number;
        else if (key == "quota.services") config.quotas.services = number;
        else if (key == "quota.connections") config.quotas.connections = number;
        else if (key == "quota.pending_channels") config.quotas.pending_channels = number;
        else if (key == "quota.grants") config.quotas.grants = number;
        else if (key == "quota.subscriptions") config.quotas.subscriptions = number;
        else if (key == "channel_setup_timeout_ms") {
            if (number == 0 || number > 600000) return bad("channel_setup_timeout_ms is 1..600000");
            config.channel_setup_timeout = std::chrono::milliseconds(number);
        } else if (key == "max_sockets") {
            config.max_sockets = number;
        } else if (key == "max_queued_replies") {
            if (number == 0) return bad("max_queued_replies is at least 1");
            config.max_queued_replies = number;
        } else {
            return bad("unknown key '" + std::string(key) + "'");
        }
    }
    if (config.max_sockets && config.reserves.sockets >= config.max_sockets)
        return fail(Errc::invalid_argument, origin + ": reserve.sockets (" + std::to_string(config.reserves.sockets) +
                                                ") is below max_sockets (" + std::to_string(config.max_sockets) + ")");
    return config;
}

LoaderConfig LoaderConfig::built_in() {
    LoaderConfig config;
    OwnRule bridge{.pattern = std::string(kBridgePrefix) + "*"};
    std::string why;
    (void)parse_who(std::string("user:") + kBridgeUser, bridge, why);
    config.names.rules.push_back(std::move(bridge));
    return config;
}

Result<LoaderConfig> LoaderConfig::load(const std::string& path, bool must_exist) {
    std::ifstream in(path);
    if (!in) {
        if (!must_exist && errno == ENOENT) return built_in();
        return fail_errno("cannot read config " + path, Errc::not_found);
    }
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

}  // namespace liteipc::loader
