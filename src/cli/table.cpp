#include "table.h"

#include <algorithm>

namespace liteipc::cli {

void Table::add_row(std::vector<std::string> cells) {
    cells.resize(columns_.size());
    for (auto& cell : cells)
        for (auto& c : cell)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    rows_.push_back(std::move(cells));
}

void Table::print(std::FILE* out) const {
    std::vector<std::size_t> width(columns_.size());
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        width[i] = columns_[i].title.size();
        for (const auto& row : rows_) width[i] = std::max(width[i], row[i].size());
    }
    auto print_row = [&](auto cell_of) {
        std::string line;
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            const std::string& cell = cell_of(i);
            const std::string pad(width[i] - cell.size(), ' ');
            const bool last = i + 1 == columns_.size();
            if (columns_[i].align == Align::right) line += pad + cell;
            else line += last ? cell : cell + pad;
            if (!last) line += "  ";
        }
        std::fprintf(out, "%s\n", line.c_str());
    };
    print_row([&](std::size_t i) -> const std::string& { return columns_[i].title; });
    for (const auto& row : rows_) print_row([&](std::size_t i) -> const std::string& { return row[i]; });
}

}  // namespace liteipc::cli
