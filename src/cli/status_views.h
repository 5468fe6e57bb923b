// The views of the loader's status document that `liteipc status`, `list` and `stats` print: tables
// for people, JSON for programs.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status_document.h"
#include "table.h"

namespace liteipc::cli {

// ordered_json: fields print in the order a reader expects (slot before pid), not sorted.
using json = nlohmann::ordered_json;

struct Output {
    bool as_json = false;
    bool pretty = false;
    void print(const json& document) const {
        // error_handler::replace: a name that is not valid UTF-8 prints with U+FFFD, never throws.
        std::printf("%s\n", document.dump(pretty ? 2 : -1, ' ', false, json::error_handler_t::replace).c_str());
    }
};

// "same-uid", "anyone", "uid-list", "uid-range", "pids", or "policy N" for an unknown value.
std::string policy_name(uint32_t policy);
json service_json(const status::ServiceEntry& s);
json status_json(const status::StatusDocument& status);

// `liteipc list`: one row per service or topic.
Table services_table();
void add_service_row(Table& table, const status::ServiceEntry& s);
// `liteipc list NAME` and `liteipc status`, for people.
void print_service(const status::ServiceEntry& s);
void print_status(const status::StatusDocument& status);

// `liteipc stats`: the services `only` names (all when null); false when it names none.
bool select_services(const status::StatusDocument& status, const char* only, std::vector<status::ServiceEntry>& out);
void print_stats(const std::vector<status::ServiceEntry>& services, const Output& output);
// Rates over one interval, for the services present at both ends of it.
void print_rates(const std::vector<status::ServiceEntry>& before, const std::vector<status::ServiceEntry>& after,
                 double seconds, const Output& output);

}  // namespace liteipc::cli
