#include "status_views.h"

#include <cctype>
#include <cstdio>

#include "liteipc_abi.h"

namespace liteipc::cli {

using status::for_each_field;
using status::ServiceEntry;
using status::StatusDocument;

namespace {

Table stats_table(bool rates) {
    using Align = Table::Align;
    std::vector<Table::Column> columns{{"HANDLE", Align::right}, {"NAME", Align::left}};
    for_each_field(liteipc::status::ServiceCounters{}, [&](const char* name, uint64_t) {
        std::string title = name;
        for (char& c : title) c = c == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        columns.push_back({rates ? title + "/S" : title, Align::right});
    });
    return Table(columns);
}

}  // namespace

std::string policy_name(uint32_t policy) {
    switch (policy) {
        case LITEIPC_POLICY_SAME_UID: return "same-uid";
        case LITEIPC_POLICY_ANYONE: return "anyone";
        case LITEIPC_POLICY_UID_LIST: return "uid-list";
        case LITEIPC_POLICY_UID_RANGE: return "uid-range";
        case LITEIPC_POLICY_PIDS: return "pids";
    }
    return "policy " + std::to_string(policy);
}

// A topic's publisher policy: "same-uid 1000", "uid-range 1000..1001", ...; "-" for a service.
std::string publishers_text(const ServiceEntry& s) {
    if (s.publisher_policy < 0) return "-";
    std::string text = policy_name(static_cast<uint32_t>(s.publisher_policy));
    if (s.publisher_policy == LITEIPC_POLICY_SAME_UID) text += " " + std::to_string(s.publisher_creator_uid);
    if (s.publisher_policy == LITEIPC_POLICY_UID_RANGE)
        text += " " + std::to_string(s.publisher_uid_min) + ".." + std::to_string(s.publisher_uid_max);
    return text;
}

json service_json(const ServiceEntry& s) {
    json clients = json::array();
    for (const auto& c : s.clients)
        clients.push_back({{"conn_id", c.conn_id}, {"pid", c.pid}, {"uid", c.uid}, {"gid", c.gid}});
    return {{"handle", s.handle},
            {"name", s.name},
            {"pid", s.pid},
            {"uid", s.uid},
            {"policy", policy_name(s.policy)},
            {"uid_min", s.uid_min},
            {"uid_max", s.uid_max},
            {"mode", s.mode},
            {"publishers", publishers_text(s)},
            {"interface", json(s.interface)},
            {"clients", clients},
            {"counters", json(s.counters)}};
}

json status_json(const StatusDocument& status) {
    json services = json::array();
    for (const auto& s : status.services) services.push_back(service_json(s));
    return {{"loader",
             {{"pid", status.loader_pid},
              {"pin_root", status.pin_root},
              {"socket", status.socket},
              {"processes_alive", status.processes_alive},
              {"processes_dead", status.processes_dead},
              {"deaths_seen", status.deaths_seen},
              {"records_lost", status.records_lost},
              {"pool_backing", status.hugepages.pool_backing}}},
            {"quotas", status.quotas},
            {"tables", liteipc::status::tables_json(status.tables)},
            {"name_policy", status.name_policy},
            {"refused", status.refused},
            {"uids", status.uids},
            {"processes", status.processes},
            {"services", services}};
}

Table services_table() {
    using Align = Table::Align;
    // Columns added later go at the end, so a script reading the first ones by position keeps working.
    return Table({{"HANDLE", Align::right}, {"NAME", Align::left}, {"PID", Align::right}, {"POLICY", Align::left},
                  {"CONNECTS", Align::right}, {"DENIALS", Align::right}, {"KIND", Align::left},
                  {"CLIENTS", Align::right}, {"INTERFACE", Align::left}, {"PUBLISHERS", Align::left}});
}

// "OHOS.IFoo v2 5eb17543f0f7326e" (v-: not frozen); "-" for a service that declared none.
std::string interface_text(const ServiceEntry& s) {
    const auto& i = s.interface;
    if (i.name.empty()) return "-";
    return i.name + (i.version ? " v" + std::to_string(i.version) : std::string(" v-")) + " " + i.hash;
}

// A topic's mode, mediated or not, is also its KIND.
bool is_topic(const ServiceEntry& s) { return s.mode == "topic" || s.mode == "mediated-topic"; }

void add_service_row(Table& table, const ServiceEntry& s) {
    // A topic's owner is its publisher and its clients are its subscribers.
    table.add_row({std::to_string(s.handle), s.name, std::to_string(s.pid), policy_name(s.policy),
                   std::to_string(s.counters.connects), std::to_string(s.counters.denials),
                   is_topic(s) ? s.mode : "service", std::to_string(s.clients.size()), interface_text(s),
                   publishers_text(s)});
}

void print_service(const ServiceEntry& s) {
    std::string policy = policy_name(s.policy);
    if (policy == "uid-range") policy += " " + std::to_string(s.uid_min) + ".." + std::to_string(s.uid_max);
    const bool topic = is_topic(s);
    std::printf("%s %s (handle %u)\n", topic ? "topic     " : "service   ", s.name.c_str(), s.handle);
    std::printf("%s pid %u, uid %u\n", topic ? "publisher " : "owner     ", s.pid, s.uid);
    std::printf("policy     %s\n", policy.c_str());
    if (topic) std::printf("publishers %s\n", publishers_text(s).c_str());
    std::printf("mode       %s\n", s.mode.c_str());
    std::printf("interface  %s%s\n", interface_text(s).c_str(),
                s.interface.name.empty() ? "" : (" (contract " + s.interface.contract + ")").c_str());
    std::string counters;
    for_each_field(s.counters, [&](const char* name, uint64_t value) {
        counters += (counters.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(value);
    });
    std::printf("counters   %s\n", counters.c_str());
    std::printf("%s %zu\n", topic ? "subscribers" : "clients   ", s.clients.size());
    if (s.clients.empty()) return;
    using Align = Table::Align;
    Table clients({{"CONN", Align::right}, {"PID", Align::right}, {"UID", Align::right}, {"GID", Align::right}});
    for (const auto& c : s.clients)
        clients.add_row({std::to_string(c.conn_id), std::to_string(c.pid), std::to_string(c.uid), std::to_string(c.gid)});
    std::printf("\n");
    clients.print(stdout);
}

void print_status(const StatusDocument& status) {
    std::printf("loader     pid %u, pin root %s, socket %s\n", status.loader_pid, status.pin_root.c_str(),
                status.socket.c_str());
    std::printf("processes  %llu alive, %llu dead; deaths seen %llu, records lost %llu\n",
                static_cast<unsigned long long>(status.processes_alive),
                static_cast<unsigned long long>(status.processes_dead),
                static_cast<unsigned long long>(status.deaths_seen),
                static_cast<unsigned long long>(status.records_lost));
    std::printf("pools      %s\n", status.hugepages.pool_backing.c_str());
    std::printf("services   %zu\n", status.services.size());
    std::string quotas, refused;
    for_each_field(status.quotas, [&](const char* name, uint64_t value) {
        quotas += (quotas.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(value);
    });
    for_each_field(status.refused, [&](const char* name, uint64_t value) {
        if (value != 0) refused += (refused.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(value);
    });
    std::printf("quotas     per uid: %s\n", quotas.c_str());
    // What uids other than root hold of each global table; root's reserve is not theirs.
    std::string tables;
    for (const auto& t : status.tables)
        tables += (tables.empty() ? "" : ", ") + t.name + " " + std::to_string(t.members) + "/" +
                  std::to_string(t.capacity - t.reserve) + (t.near_full ? " NEAR FULL" : "");
    std::printf("tables     held by uids other than root / their room: %s\n", tables.c_str());
    std::printf("refused    %s\n", refused.empty() ? "nothing" : refused.c_str());
    if (!status.uids.empty()) {
        // One column per quota, in the document's order.
        std::vector<Table::Column> columns{{"UID", Table::Align::right}};
        for_each_field(status.quotas, [&](const char* name, uint64_t) {
            std::string title = name;
            for (char& c : title) c = c == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            columns.push_back({title, Table::Align::right});
        });
        Table uids(columns);
        for (const auto& u : status.uids) {
            std::vector<std::string> row{std::to_string(u.uid)};
            for_each_field(u.held, [&](const char*, uint64_t value) { row.push_back(std::to_string(value)); });
            uids.add_row(row);
        }
        std::printf("\n");
        uids.print(stdout);
    }
    if (!status.processes.empty()) {
        using Align = Table::Align;
        Table processes({{"SLOT", Align::right}, {"PID", Align::right}, {"UID", Align::right},
                         {"GENERATION", Align::right}, {"STATE", Align::left}});
        for (const auto& p : status.processes)
            processes.add_row({std::to_string(p.slot), std::to_string(p.pid), std::to_string(p.uid),
                               std::to_string(p.generation), p.state});
        std::printf("\n");
        processes.print(stdout);
    }
    if (status.services.empty()) return;
    Table services = services_table();
    for (const auto& s : status.services) add_service_row(services, s);
    std::printf("\n");
    services.print(stdout);
}



bool select_services(const StatusDocument& status, const char* only, std::vector<ServiceEntry>& out) {
    out.clear();
    for (const auto& s : status.services)
        if (!only || s.name == only) out.push_back(s);
    return !only || !out.empty();
}

void print_stats(const std::vector<ServiceEntry>& services, const Output& output) {
    if (output.as_json) {
        json list = json::array();
        for (const auto& s : services)
            list.push_back({{"handle", s.handle}, {"name", s.name}, {"counters", json(s.counters)}});
        output.print({{"stats", list}});
        return;
    }
    Table table = stats_table(false);
    for (const auto& s : services) {
        std::vector<std::string> row{std::to_string(s.handle), s.name};
        for_each_field(s.counters, [&](const char*, uint64_t v) { row.push_back(std::to_string(v)); });
        table.add_row(row);
    }
    if (table.empty()) std::printf("no services registered\n");
    else table.print(stdout);
}

void print_rates(const std::vector<ServiceEntry>& before, const std::vector<ServiceEntry>& after, double seconds,
                 const Output& output) {
    json list = json::array();
    Table table = stats_table(true);
    for (const auto& s : after) {
        const ServiceEntry* old = nullptr;
        for (const auto& b : before)
            if (b.handle == s.handle) old = &b;
        if (!old) continue;
        std::vector<uint64_t> was;
        for_each_field(old->counters, [&](const char*, uint64_t v) { was.push_back(v); });
        json rates = json::object();
        std::vector<std::string> row{std::to_string(s.handle), s.name};
        std::size_t i = 0;
        for_each_field(s.counters, [&](const char* name, uint64_t v) {
            double rate = static_cast<double>(v - was[i++]) / seconds;
            rates[name] = rate;
            char text[32];
            std::snprintf(text, sizeof text, "%.1f", rate);
            row.push_back(text);
        });
        list.push_back({{"handle", s.handle}, {"name", s.name}, {"rates", rates}});
        table.add_row(row);
    }
    if (output.as_json) {
        output.print({{"interval_s", seconds}, {"stats", list}});
    } else {
        std::printf("over %.1f s:\n", seconds);
        table.print(stdout);
    }
    std::fflush(stdout);
}

}  // namespace liteipc::cli
