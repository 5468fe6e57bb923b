// A plain-text table: a header row, columns padded to their widest cell, numbers right-aligned.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace liteipc::cli {

class Table {
public:
    enum class Align { left, right };
    struct Column {
        std::string title;
        Align align = Align::left;
    };

    explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

    // Cells beyond the column count are dropped; missing ones print empty. Control characters
    // in a cell (a service name is whatever its owner chose) print as '?'.
    void add_row(std::vector<std::string> cells);
    bool empty() const { return rows_.empty(); }
    void print(std::FILE* out) const;

private:
    std::vector<Column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace liteipc::cli
