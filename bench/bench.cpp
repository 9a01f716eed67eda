// pg_unlearn benchmark: every figure is a ratio measured side by side in one
// run against a baseline on the same data (a plain scan, a table without a
// model, a retrain from scratch). Connection from the libpq environment.
//
//   pg_unlearn_bench [--rows N] [--repeat R] [--deletes D]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
    long rows = 1000000;
    int repeat = 3;
    int deletes = 300;
};

double seconds(const std::function<void()> &f) {
    auto t0 = Clock::now();
    f();
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double median_of(int n, const std::function<double()> &f) {
    std::vector<double> v;
    for (int i = 0; i < n; ++i) v.push_back(f());
    return median(v);
}

void exec(pqxx::connection &c, const std::string &sql) {
    pqxx::nontransaction tx(c);
    tx.exec(sql);
}

const char *kFeatures = "ARRAY['f1','f2','f3','f4','f5','f6','f7','f8','f9','f10']";

// A copy of the generated data, with or without a model on it.
void make_table(pqxx::connection &c, const std::string &name, long rows) {
    exec(c, "DROP TABLE IF EXISTS " + name);
    exec(c, "SELECT setseed(0.5)");
    exec(c, "CREATE TABLE " + name +
                " AS SELECT i::bigint AS id, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, "
                "1 + f1 - 2 * f2 + 3 * f3 + 0.5 * f4 - f5 + 0.1 * random() AS y, (f1 + f2 > 1)::int AS label "
                "FROM generate_series(1, " +
                std::to_string(rows) +
                ") i, LATERAL (SELECT random() f1, random() f2, random() f3, random() f4, random() f5, random() f6, "
                "random() f7, random() f8, random() f9, random() f10, i AS k) r");
    exec(c, "ALTER TABLE " + name + " ADD PRIMARY KEY (id)");
    exec(c, "VACUUM ANALYZE " + name);
}

double train(pqxx::connection &c, const std::string &model, const std::string &table, const std::string &algo) {
    exec(c, "SELECT unlearn.drop_model(name) FROM unlearn.models WHERE name = '" + model + "'");
    const std::string target = algo == "naive_bayes" ? "label" : "y";
    return seconds([&] {
        exec(c, "SELECT * FROM unlearn.train('" + model + "', '" + table + "', '" + target + "', " + kFeatures +
                    ", '" + algo + "')");
    });
}

double plain_sum(pqxx::connection &c, const std::string &table) {
    return seconds([&] {
        exec(c, "SELECT sum(f1), sum(f2), sum(f3), sum(f4), sum(f5), sum(f6), sum(f7), sum(f8), sum(f9), sum(f10), "
                "sum(y) FROM " + table);
    });
}

// Median latency of autocommitted single-row DELETEs of random ids.
double single_delete_ms(pqxx::connection &c, const std::string &table, int n, uint64_t seed, long rows) {
    c.prepare("del_" + table, "DELETE FROM " + table + " WHERE id = $1");
    std::mt19937_64 rng(seed);
    std::vector<double> ms;
    for (int i = 0; i < n; ++i) {
        long id = static_cast<long>(rng() % static_cast<uint64_t>(rows)) + 1;
        ms.push_back(1000 * seconds([&] {
                         pqxx::work tx(c);
                         tx.exec_prepared("del_" + table, id);
                         tx.commit();
                     }));
    }
    return median(ms);
}

double bulk_delete(pqxx::connection &c, const std::string &table) {
    return seconds([&] { exec(c, "DELETE FROM " + table + " WHERE id % 10 = 3"); });
}

struct Row {
    std::string what;
    double ours, base;
    std::string unit, ratio_kind, target;
    bool met;
};

void print(const std::vector<Row> &rows) {
    std::printf("| measurement | pg_unlearn | baseline | ratio | target | met |\n|---|---|---|---|---|---|\n");
    for (const auto &r : rows) {
        double ratio = r.ratio_kind == "base/ours" ? r.base / r.ours : r.ours / r.base;
        std::printf("| %s | %.4g %s | %.4g %s | %.3g | %s | %s |\n", r.what.c_str(), r.ours, r.unit.c_str(), r.base,
                    r.unit.c_str(), ratio, r.target.c_str(), r.met ? "yes" : "no");
    }
}

std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

}  // namespace

int main(int argc, char **argv) {
    Config cfg;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--rows") cfg.rows = std::stol(argv[i + 1]);
        else if (a == "--repeat") cfg.repeat = std::stoi(argv[i + 1]);
        else if (a == "--deletes") cfg.deletes = std::stoi(argv[i + 1]);
        else {
            std::cerr << "usage: " << argv[0] << " [--rows N] [--repeat R] [--deletes D]\n";
            return 2;
        }
    }
    try {
        pqxx::connection admin;
        exec(admin, "DROP DATABASE IF EXISTS unlearn_bench");
        exec(admin, "CREATE DATABASE unlearn_bench");
        auto conn = std::make_unique<pqxx::connection>("dbname=unlearn_bench");
        pqxx::connection &c = *conn;
        exec(c, "CREATE EXTENSION pg_unlearn");
        exec(c, "SET max_parallel_workers_per_gather = 0");  // one backend on both sides
        std::string version = pqxx::nontransaction(c).exec("SHOW server_version")[0][0].c_str();

        std::vector<Row> out;
        make_table(c, "bench_data", cfg.rows);

        // 1. train vs the one-pass floor
        double t_sum = median_of(cfg.repeat, [&] { return plain_sum(c, "bench_data"); });
        double t_train = median_of(cfg.repeat, [&] { return train(c, "b_ols", "bench_data", "linear_regression"); });
        out.push_back({"train linear_regression vs SELECT sum(...)", t_train, t_sum, "s", "ours/base", "<= 1.5", t_train <= 1.5 * t_sum});
        double t_train_nb = median_of(cfg.repeat, [&] { return train(c, "b_nb", "bench_data", "naive_bayes"); });
        out.push_back({"train naive_bayes vs SELECT sum(...)", t_train_nb, t_sum, "s", "ours/base", "<= 1.5", t_train_nb <= 1.5 * t_sum});
        exec(c, "SELECT unlearn.drop_model('b_nb')");

        // 5. predict every row vs the plain scan
        double t_scan = median_of(cfg.repeat, [&] {
            return seconds([&] { exec(c, "SELECT sum(f1+f2+f3+f4+f5+f6+f7+f8+f9+f10) FROM bench_data"); });
        });
        double t_pred_arr = median_of(cfg.repeat, [&] {
            return seconds([&] {
                exec(c, "SELECT sum(unlearn.predict('b_ols', ARRAY[f1,f2,f3,f4,f5,f6,f7,f8,f9,f10])) FROM bench_data");
            });
        });
        double t_pred_row = median_of(cfg.repeat, [&] {
            return seconds([&] { exec(c, "SELECT sum(unlearn.predict('b_ols', t)) FROM bench_data t"); });
        });
        out.push_back({"predict every row (array form) vs plain scan", t_pred_arr, t_scan, "s", "ours/base", "<= 3", t_pred_arr <= 3 * t_scan});
        out.push_back({"predict every row (record form) vs plain scan", t_pred_row, t_scan, "s", "ours/base", "<= 3", t_pred_row <= 3 * t_scan});

        // 2. single-row DELETE latency, with a model vs without
        make_table(c, "bench_plain", cfg.rows);
        double d_plain = single_delete_ms(c, "bench_plain", cfg.deletes, 1, cfg.rows);
        double d_model = single_delete_ms(c, "bench_data", cfg.deletes, 2, cfg.rows);
        out.push_back({"single-row DELETE, median (with model vs without)", d_model, d_plain, "ms", "ours/base",
                       "<= +1 ms", d_model - d_plain <= 1.0});

        // 4. forgetting one row (what the model adds to the DELETE) vs retraining from scratch
        const double forget_ms = std::max(d_model - d_plain, 1e-3);
        out.push_back({"forget one row (added DELETE latency) vs retrain from scratch", forget_ms, 1000 * t_train, "ms",
                       "base/ours", ">= 1000x", 1000 * t_train / forget_ms >= 1000});

        // 3. DELETE of 10% in one statement, with a model vs without: fresh
        // copies each round, order alternated, a checkpoint before each
        std::vector<double> plain_runs, model_runs;
        for (int r = 0; r < cfg.repeat; ++r) {
            make_table(c, "bench_plain", cfg.rows);
            make_table(c, "bench_data", cfg.rows);
            train(c, "b_ols", "bench_data", "linear_regression");
            for (int k = 0; k < 2; ++k) {
                const bool model_side = (r + k) % 2 == 1;
                exec(c, "CHECKPOINT");
                (model_side ? model_runs : plain_runs).push_back(bulk_delete(c, model_side ? "bench_data" : "bench_plain"));
            }
        }
        double b_plain = median(plain_runs), b_model = median(model_runs);
        out.push_back({"DELETE 10% in one statement (with model vs without)", b_model, b_plain, "s", "ours/base", "<= 2",
                       b_model <= 2 * b_plain});
        std::string verified = pqxx::nontransaction(c).exec(
            "SELECT bool_and(passed)::text FROM unlearn.verify('b_ols')")[0][0].c_str();

        std::printf("pg_unlearn benchmark: %ld rows x 10 float8 features, PostgreSQL %s, %s, %u cores\n\n", cfg.rows,
                    version.c_str(), cpu_model().c_str(), std::thread::hardware_concurrency());
        print(out);
        std::printf("\nverify after the bulk DELETE: %s\n", verified == "true" ? "passed" : "FAILED");
        conn.reset();  // disconnect before dropping the database
        exec(admin, "DROP DATABASE unlearn_bench");
        return verified == "true" ? 0 : 1;
    } catch (const std::exception &e) {
        std::cerr << "bench failed: " << e.what() << "\n";
        return 1;
    }
}
