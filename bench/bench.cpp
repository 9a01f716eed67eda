// pg_unlearn benchmark. Every figure is measured side by side in one run
// against a baseline on the same data (a plain single-backend scan, an
// identical table without a model, a retrain from scratch) and reported as a
// ratio with its target.
//
//   pg_unlearn_bench [--rows N] [--deletes D] [--repeat R] [--dsn CONNINFO] [--keep]
//
// Connects with the libpq environment (PGHOST, PGPORT, PGUSER, ...) or --dsn,
// creates (drops first) database unlearn_bench and works there; if it cannot,
// it works in the database it connected to. Drops what it created at the end
// unless --keep.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "common.hpp"

namespace {

using namespace bench;

const char *const kDatabase = "unlearn_bench";
const char *const kFeatureList = "f1, f2, f3, f4, f5, f6, f7, f8, f9, f10";
const char *const kFeatureArray = "ARRAY['f1','f2','f3','f4','f5','f6','f7','f8','f9','f10']";

struct Config {
    long rows = 1000000;
    int deletes = 500;  // single-row DELETEs per side and algorithm
    int repeat = 3;     // runs per timed statement (median)
    std::string dsn;
    bool keep = false;
};

double train_ms(pqxx::connection &c, const std::string &model, const std::string &table, const std::string &target,
                const std::string &algorithm) {
    return time_sql_ms(c, "SELECT * FROM unlearn.train('" + model + "', '" + table + "', '" + target + "', " +
                              kFeatureArray + ", '" + algorithm + "')");
}

// ------------------------------------------------------------------ data

// bench_data: N rows, ten uniform features in [-1, 1), a linear target with
// noise and a class label from its sign. One INSERT ... SELECT, seeded.
void load_data(pqxx::connection &c, long rows) {
    exec(c, "DROP TABLE IF EXISTS bench_data, bench_plain");
    exec(c, "CREATE TABLE bench_data (id bigint PRIMARY KEY, f1 float8, f2 float8, f3 float8, f4 float8, f5 float8, "
            "f6 float8, f7 float8, f8 float8, f9 float8, f10 float8, y float8, label int)");
    {
        pqxx::work tx(c);  // setseed and the INSERT in one session and transaction
        tx.exec("SELECT setseed(0.42)");
        tx.exec("INSERT INTO bench_data SELECT id, " + std::string(kFeatureList) +
                ", y, (y > 0)::int FROM (SELECT id, " + kFeatureList +
                ", 0.3 + 1.5*f1 - 2*f2 + 0.7*f3 + 0.25*f4 - f5 + 0.5*f6 - 0.3*f7 + 0.8*f8 + 0.05*f9 - 1.2*f10"
                " + 0.1 * (random() - 0.5) AS y FROM (SELECT i::bigint AS id,"
                " 2*random()-1 AS f1, 2*random()-1 AS f2, 2*random()-1 AS f3, 2*random()-1 AS f4,"
                " 2*random()-1 AS f5, 2*random()-1 AS f6, 2*random()-1 AS f7, 2*random()-1 AS f8,"
                " 2*random()-1 AS f9, 2*random()-1 AS f10 FROM generate_series(1, " +
                std::to_string(rows) + ") i) features) labelled");
        tx.commit();
    }
    exec(c, "VACUUM ANALYZE bench_data");
}

// A fresh copy of a table's rows with the same primary key (no triggers).
void copy_table(pqxx::connection &c, const std::string &from, const std::string &to) {
    exec(c, "DROP TABLE IF EXISTS " + to);
    exec(c, "CREATE TABLE " + to + " AS SELECT * FROM " + from + " ORDER BY id");
    exec(c, "ALTER TABLE " + to + " ADD PRIMARY KEY (id)");
    exec(c, "VACUUM ANALYZE " + to);
}

// Distinct random ids in [1, rows], split into `parts` disjoint sets.
std::vector<std::vector<long>> random_ids(long rows, int per_part, int parts, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<long> pick(1, rows);
    std::set<long> seen;
    std::vector<std::vector<long>> out(parts);
    for (auto &part : out)
        while (static_cast<int>(part.size()) < per_part) {
            const long id = pick(rng);
            if (seen.insert(id).second) part.push_back(id);
        }
    return out;
}

// Each phase starts from the same settled state, whatever ran before it:
// dead rows (deleted table rows, lineage blocks rewritten by earlier phases)
// vacuumed and dirty pages flushed.
void settle(pqxx::connection &c) {
    exec(c, "VACUUM bench_data, bench_plain, unlearn.models, unlearn.state, unlearn.lineage_blocks, unlearn.audit");
    exec(c, "CHECKPOINT");
}

// ---------------------------------------------------------- measurements

struct Row {
    std::string measurement;
    double ours_ms;
    double base_ms;
    std::string ratio;
    std::string target;
    bool met;
};

const std::string kSum =
    "SELECT sum(f1), sum(f2), sum(f3), sum(f4), sum(f5), sum(f6), sum(f7), sum(f8), sum(f9), sum(f10), sum(y) "
    "FROM bench_data";

// Train `model` `repeat` times, each after a run of the one-pass sum
// baseline (interleaved, so both see the same cache state); the last model
// stays. Returns {train median, sum median}.
std::pair<double, double> train_vs_sum(pqxx::connection &c, const Config &cfg, const std::string &model,
                                       const std::string &target, const std::string &algorithm) {
    std::vector<double> train, sum;
    for (int r = 0; r < cfg.repeat; ++r) {
        drop_model_if_exists(c, model);
        sum.push_back(time_sql_ms(c, kSum));
        train.push_back(train_ms(c, model, "bench_data", target, algorithm));
    }
    return {median(train), median(sum)};
}

Row train_row(const std::string &algorithm, double train, double sum) {
    return {"train " + algorithm + " vs one-pass `SELECT sum(f1..f10, y)`", train, sum, times(train / sum),
            "train/sum <= 1.5x", train <= 1.5 * sum};
}

// Median latency of autocommitted single-row DELETEs by primary key
// (prepared), on `model_table` vs `plain_table`, alternating sides per id.
// Each id is deleted from both tables. Returns {with model, without}.
std::pair<double, double> single_deletes(pqxx::connection &c, const std::vector<long> &ids,
                                         const std::string &model_table, const std::string &plain_table) {
    c.prepare("del_model", "DELETE FROM " + model_table + " WHERE id = $1");
    c.prepare("del_plain", "DELETE FROM " + plain_table + " WHERE id = $1");
    std::vector<double> model_ms, plain_ms;
    pqxx::nontransaction tx(c);  // no BEGIN/COMMIT: every statement autocommits
    auto run = [&](const char *stmt, long id, std::vector<double> &into) {
        pqxx::result r;
        into.push_back(time_ms([&] { r = tx.exec_prepared(stmt, id); }));
        if (r.affected_rows() != 1) throw std::runtime_error("DELETE of id " + std::to_string(id) + " hit no row");
    };
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i % 2) {
            run("del_model", ids[i], model_ms);
            run("del_plain", ids[i], plain_ms);
        } else {
            run("del_plain", ids[i], plain_ms);
            run("del_model", ids[i], model_ms);
        }
    }
    tx.commit();
    c.unprepare("del_model");
    c.unprepare("del_plain");
    return {median(model_ms), median(plain_ms)};
}

Row delete_row(const std::string &algorithm, double with_model, double plain) {
    const double added = with_model - plain;
    return {"single-row DELETE by id, median, table with " + algorithm + " model vs without", with_model, plain,
            fmt("%+.3f ms", added) + " (" + times(with_model / plain) + ")", "added <= 1 ms", added <= 1.0};
}

Row forget_row(const std::string &algorithm, double forget, double retrain) {
    return {"forget one row (that DELETE) vs retrain " + algorithm + " from scratch", forget, retrain,
            times(retrain / forget), "retrain/forget >= 1000x", retrain >= 1000 * forget};
}

// Predict every row, both forms, vs a plain scan of the same columns.
std::vector<Row> predict_vs_scan(pqxx::connection &c, const Config &cfg) {
    const std::string scan = "SELECT sum(f1+f2+f3+f4+f5+f6+f7+f8+f9+f10) FROM bench_data";
    const std::string by_array =
        "SELECT sum(unlearn.predict('b_ols', ARRAY[f1,f2,f3,f4,f5,f6,f7,f8,f9,f10])) FROM bench_data";
    const std::string by_row = "SELECT sum(unlearn.predict('b_ols', t)) FROM bench_data t";
    std::vector<double> scan_ms, array_ms, row_ms;
    for (int r = 0; r < cfg.repeat; ++r) {
        scan_ms.push_back(time_sql_ms(c, scan));
        array_ms.push_back(time_sql_ms(c, by_array));
        row_ms.push_back(time_sql_ms(c, by_row));
    }
    const double s = median(scan_ms), a = median(array_ms), w = median(row_ms);
    // the read path is PARALLEL SAFE: the same scoring with two workers
    // (the rest of the benchmark keeps one backend on both sides)
    std::vector<double> parallel_ms;
    exec(c, "SET max_parallel_workers_per_gather = 2");
    exec(c, "SET parallel_setup_cost = 0");
    for (int r = 0; r < cfg.repeat; ++r) parallel_ms.push_back(time_sql_ms(c, by_array));
    exec(c, "RESET parallel_setup_cost");
    exec(c, "SET max_parallel_workers_per_gather = 0");
    const double par = median(parallel_ms);
    return {{"predict every row, `predict('b_ols', t)` vs `SELECT sum(f1+...+f10)`", w, s, times(w / s),
             "predict/scan <= 3x", w <= 3 * s},
            {"predict every row, `predict('b_ols', ARRAY[f1..f10])` vs `SELECT sum(f1+...+f10)`", a, s, times(a / s),
             "predict/scan <= 3x", a <= 3 * s},
            {"predict every row, array form, 2 parallel workers vs one backend", par, a, times(par / a),
             "parallel < one backend", par < a}};
}

// DELETE of 10% of the rows in one statement, on a fresh copy with a model
// vs a fresh copy without; a checkpoint before each, sides alternated.
Row bulk_delete(pqxx::connection &c, const Config &cfg, bool &verified) {
    const std::string del = " WHERE id % 10 = 3";
    std::vector<double> model_ms, plain_ms;
    for (int r = 0; r < cfg.repeat; ++r) {
        drop_model_if_exists(c, "b_bulk");
        copy_table(c, "bench_plain", "bulk_model");
        copy_table(c, "bench_plain", "bulk_plain");
        train_ms(c, "b_bulk", "bulk_model", "y", "linear_regression");
        for (int k = 0; k < 2; ++k) {
            const bool model_side = (r + k) % 2 == 1;
            exec(c, "CHECKPOINT");
            (model_side ? model_ms : plain_ms)
                .push_back(time_sql_ms(c, "DELETE FROM " + std::string(model_side ? "bulk_model" : "bulk_plain") + del));
        }
    }
    verified = scalar(c, "SELECT bool_and(passed) FROM unlearn.verify('b_bulk')") == "t";
    drop_model_if_exists(c, "b_bulk");
    exec(c, "DROP TABLE bulk_model, bulk_plain");
    const double m = median(model_ms), p = median(plain_ms);
    return {"DELETE 10% in one statement (`id % 10 = 3`), with linear_regression model vs without", m, p, times(m / p),
            "with/without <= 2x", m <= 2 * p};
}

// --------------------------------------------------------------- report

void print_table(const std::vector<Row> &rows) {
    std::printf("| measurement | pg_unlearn | baseline | ratio | target | met |\n");
    std::printf("|---|---|---|---|---|---|\n");
    for (const auto &r : rows)
        std::printf("| %s | %s | %s | %s | %s | %s |\n", r.measurement.c_str(), duration(r.ours_ms).c_str(),
                    duration(r.base_ms).c_str(), r.ratio.c_str(), r.target.c_str(), r.met ? "yes" : "**no**");
}

Config parse_args(int argc, char **argv) {
    Config cfg;
    auto usage = [&] {
        std::cerr << "usage: " << argv[0] << " [--rows N] [--deletes D] [--repeat R] [--dsn CONNINFO] [--keep]\n";
        std::exit(2);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--keep") cfg.keep = true;
        else if (a == "--rows" && has_value) cfg.rows = std::stol(argv[++i]);
        else if (a == "--deletes" && has_value) cfg.deletes = std::stoi(argv[++i]);
        else if (a == "--repeat" && has_value) cfg.repeat = std::stoi(argv[++i]);
        else if (a == "--dsn" && has_value) cfg.dsn = argv[++i];
        else usage();
    }
    if (cfg.rows < 100 || cfg.deletes < 1 || cfg.repeat < 1) usage();
    cfg.deletes = static_cast<int>(std::min<long>(cfg.deletes, cfg.rows / 4));  // two disjoint id sets
    return cfg;
}

void drop_objects(pqxx::connection &c) {
    for (const char *m : {"b_ols", "b_nb", "b_bulk"}) drop_model_if_exists(c, m);
    exec(c, "DROP TABLE IF EXISTS bench_data, bench_plain, bulk_model, bulk_plain");
}

}  // namespace

int main(int argc, char **argv) {
    const Config cfg = parse_args(argc, argv);
    try {
        pqxx::connection admin(cfg.dsn);
        const bool own_db = create_database(admin, kDatabase);
        bool verified_ols = false, verified_bulk = false;
        std::vector<Row> rows;
        std::string version;
        const std::string load_before = load_average();
        {
            pqxx::connection c(own_db ? with_database(cfg.dsn, kDatabase) : cfg.dsn);
            exec(c, own_db ? "CREATE EXTENSION pg_unlearn" : "CREATE EXTENSION IF NOT EXISTS pg_unlearn");
            if (!own_db) drop_objects(c);
            exec(c, "SET max_parallel_workers_per_gather = 0");  // one backend on both sides
            version = scalar(c, "SHOW server_version");

            std::cerr << "loading " << cfg.rows << " rows\n";
            load_data(c, cfg.rows);
            copy_table(c, "bench_data", "bench_plain");
            const auto ids = random_ids(cfg.rows, cfg.deletes, 2, 20240601);

            std::cerr << "linear_regression: train, predict, single-row DELETEs\n";
            settle(c);
            const auto [ols_train, ols_sum] = train_vs_sum(c, cfg, "b_ols", "y", "linear_regression");
            const auto predict = predict_vs_scan(c, cfg);
            settle(c);
            const auto [ols_del, ols_plain] = single_deletes(c, ids[0], "bench_data", "bench_plain");
            verified_ols = scalar(c, "SELECT bool_and(passed) FROM unlearn.verify('b_ols')") == "t";
            drop_model_if_exists(c, "b_ols");

            std::cerr << "naive_bayes: train, single-row DELETEs\n";
            settle(c);
            const auto [nb_train, nb_sum] = train_vs_sum(c, cfg, "b_nb", "label", "naive_bayes");
            settle(c);
            const auto [nb_del, nb_plain] = single_deletes(c, ids[1], "bench_data", "bench_plain");
            drop_model_if_exists(c, "b_nb");

            std::cerr << "linear_regression: DELETE 10%\n";
            settle(c);
            const Row bulk = bulk_delete(c, cfg, verified_bulk);

            rows = {train_row("linear_regression", ols_train, ols_sum),
                    delete_row("linear_regression", ols_del, ols_plain),
                    bulk,
                    forget_row("linear_regression", ols_del, ols_train),
                    predict[0],
                    predict[1],
                    predict[2],
                    train_row("naive_bayes", nb_train, nb_sum),
                    delete_row("naive_bayes", nb_del, nb_plain),
                    forget_row("naive_bayes", nb_del, nb_train)};

            if (!own_db && !cfg.keep) drop_objects(c);
        }  // disconnect before dropping the database
        if (own_db && !cfg.keep) exec(admin, std::string("DROP DATABASE ") + kDatabase);

        std::printf("pg_unlearn benchmark: %ld rows x 10 float8 features; %d single-row DELETEs per side, "
                    "other timings median of %d\n",
                    cfg.rows, cfg.deletes, cfg.repeat);
        std::printf("machine: nproc %d, %s, PostgreSQL %s; max_parallel_workers_per_gather = 0; "
                    "load average before %s, after %s\n\n",
                    online_cpus(), cpu_model().c_str(), version.c_str(), load_before.c_str(), load_average().c_str());
        print_table(rows);
        std::printf("\nunlearn.verify (retrain from lineage, compare): after single-row DELETEs %s, "
                    "after the 10%% DELETE %s\n",
                    verified_ols ? "passed" : "FAILED", verified_bulk ? "passed" : "FAILED");
        return verified_ols && verified_bulk ? 0 : 1;  // a missed target is reported, not an error
    } catch (const std::exception &e) {
        std::cerr << "bench failed: " << e.what() << "\n";
        return 1;
    }
}
