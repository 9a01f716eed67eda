// Helpers shared by the benchmark drivers: timing, SQL through libpqxx,
// formatting, and what the machine is.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>
#include <sched.h>

namespace bench {

// ---------------------------------------------------------------- timing

using Clock = std::chrono::steady_clock;

template <class F>
inline double time_ms(F &&f) {
    const auto t0 = Clock::now();
    f();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
    if (v.empty()) throw std::logic_error("median of nothing");
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// ------------------------------------------------------------------- SQL

inline void exec(pqxx::connection &c, const std::string &sql) {
    pqxx::nontransaction tx(c);
    tx.exec(sql);
}

inline std::string scalar(pqxx::connection &c, const std::string &sql) {
    pqxx::nontransaction tx(c);
    const pqxx::result r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].c_str();
}

inline double time_sql_ms(pqxx::connection &c, const std::string &sql) {
    return time_ms([&] { exec(c, sql); });
}

// The same connection parameters with another database.
inline std::string with_database(const std::string &dsn, const std::string &db) {
    const bool uri = dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
    if (uri) return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "dbname=" + db;
    return dsn + (dsn.empty() ? "" : " ") + "dbname=" + db;
}

inline void drop_model_if_exists(pqxx::connection &c, const std::string &model) {
    exec(c, "SELECT unlearn.drop_model(name) FROM unlearn.models WHERE name = '" + model + "'");
}

inline std::string fmt(const char *format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

inline std::string duration(double ms) {
    if (ms >= 1000) return fmt("%.3g s", ms / 1000);
    if (ms >= 1) return fmt("%.3g ms", ms);
    return fmt("%.3f ms", ms);
}

inline std::string times(double ratio) { return fmt(ratio >= 100 ? "%.0fx" : "%.2fx", ratio); }

inline int online_cpus() {  // what nproc prints: the CPUs this process may run on
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    return static_cast<int>(std::thread::hardware_concurrency());
}

inline std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

inline std::string load_average() {  // the 1-minute figure: other work on the machine skews timings
    std::ifstream f("/proc/loadavg");
    std::string one;
    return f >> one ? one : "unknown";
}

// The bench database, or the current one if it cannot be created.
inline bool create_database(pqxx::connection &admin, const std::string &database) {
    try {
        exec(admin, std::string("DROP DATABASE IF EXISTS ") + database + " WITH (FORCE)");
        exec(admin, std::string("CREATE DATABASE ") + database);
        return true;
    } catch (const pqxx::sql_error &e) {
        std::string why = e.what();
        why.erase(why.find_last_not_of(" \n") + 1);
        std::cerr << "cannot create database " << database << " (" << why << "); using the current database\n";
        return false;
    }
}

}  // namespace bench
