// SISA and certified-removal benchmark: logistic_regression and mlp over a
// generated classification table with a non-linear signal. Prints, measured
// side by side in one run: held-out accuracy and training time for S shards
// and R slices; the time to forget one row (a single-row DELETE) against
// retraining the whole model from scratch; one DELETE of 1% of the rows; and
// for strategy certified, the single-row DELETE against a retrain and how
// many single-row DELETEs fit in the (epsilon, delta) budget.
//
//   pg_unlearn_sisa_bench [--rows N] [--features F] [--deletes D] [--epochs E] [--budget-deletes B]
//                         [--dsn CONNINFO] [--keep]
#include <cstdio>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "common.hpp"

namespace {

using namespace bench;

const char *const kDatabase = "unlearn_sisa_bench";

struct Config {
    long rows = 200000;
    int features = 20;
    int deletes = 7;  // single-row DELETEs timed per algorithm (median)
    int epochs = 10;  // mlp
    int budget_deletes = 1000;  // certified: single-row DELETEs at most, counting those within the budget
    std::string dsn;
    bool keep = false;
};

std::string feature_array(const Config &cfg) {
    std::string a = "ARRAY[";
    for (int j = 1; j <= cfg.features; ++j) a += (j > 1 ? ",'f" : "'f") + std::to_string(j) + "'";
    return a + "]";
}

std::string feature_values(const Config &cfg) {
    std::string a = "ARRAY[";
    for (int j = 1; j <= cfg.features; ++j) a += (j > 1 ? ",f" : "f") + std::to_string(j);
    return a + "]";
}

// Features uniform in [-1, 1); the label is a non-linear function of five
// of them with 10% of labels flipped: a linear model cannot reach what a
// network can. Seeded, so every run sees the same rows.
void load(pqxx::connection &c, const Config &cfg, const std::string &table, long rows, double seed) {
    std::string cols, vals;
    for (int j = 1; j <= cfg.features; ++j) {
        cols += ", f" + std::to_string(j) + " float8";
        vals += ", 2 * random() - 1";
    }
    exec(c, "DROP TABLE IF EXISTS " + table);
    exec(c, "CREATE TABLE " + table + " (id bigint" + cols + ", label int)");
    exec(c, "SELECT setseed(" + std::to_string(seed) + "); INSERT INTO " + table + " SELECT i" + vals +
                ", 0 FROM generate_series(1, " + std::to_string(rows) + ") i");
    exec(c, "UPDATE " + table + " SET label = ((2 * f1 * f2 + sin(3 * f3) + f4 * f4 - 0.33 + 0.5 * (f5 - f2) > 0) <> "
            "(random() < 0.1))::int");
    exec(c, "ALTER TABLE " + table + " ADD PRIMARY KEY (id)");
    exec(c, "VACUUM ANALYZE " + table);
}

std::string options(const std::string &algorithm, const Config &cfg) {
    return algorithm == "mlp" ? "'{\"hidden\": 32, \"epochs\": " + std::to_string(cfg.epochs) + "}'" : "'{}'";
}

double train(pqxx::connection &c, const Config &cfg, const std::string &model, const std::string &algorithm, int s,
             int r) {
    return time_sql_ms(c, "SELECT * FROM unlearn.train('" + model + "', 'bench_cls', 'label', " + feature_array(cfg) +
                              ", '" + algorithm + "', 'sisa', " + std::to_string(s) + ", " + std::to_string(r) + ", " +
                              options(algorithm, cfg) + ")");
}

double accuracy(pqxx::connection &c, const Config &cfg, const std::string &model) {
    return std::stod(scalar(c, "SELECT avg((unlearn.predict('" + model + "', " + feature_values(cfg) +
                                   ") = label)::int) FROM bench_test"));
}

struct GridRow {
    std::string algorithm;
    int shards, slices;
    double train_ms, accuracy;
};

struct ForgetResult {
    std::string algorithm;
    double retrain_ms, one_row_ms, bulk_ms;
    long bulk_rows;
    bool verified;
};

std::vector<long> pick_ids(pqxx::connection &c, long count, uint64_t seed) {
    std::vector<long> all;
    pqxx::nontransaction tx(c);
    for (const auto &row : tx.exec("SELECT id FROM bench_cls ORDER BY id")) all.push_back(row[0].as<long>());
    std::mt19937_64 rng(seed);
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(static_cast<size_t>(std::min<long>(count, static_cast<long>(all.size()))));
    return all;
}

ForgetResult forget(pqxx::connection &c, const Config &cfg, const std::string &algorithm, double retrain_ms) {
    ForgetResult f{algorithm, retrain_ms, 0, 0, 0, false};
    const std::string model = "f_" + algorithm;
    train(c, cfg, model, algorithm, 16, 4);
    std::vector<double> one;
    for (long id : pick_ids(c, cfg.deletes, 7 + algorithm.size()))
        one.push_back(time_sql_ms(c, "DELETE FROM bench_cls WHERE id = " + std::to_string(id)));
    f.one_row_ms = median(one);
    std::string list;
    for (long id : pick_ids(c, cfg.rows / 100, 11 + algorithm.size())) list += (list.empty() ? "" : ",") + std::to_string(id);
    f.bulk_rows = cfg.rows / 100;
    f.bulk_ms = time_sql_ms(c, "DELETE FROM bench_cls WHERE id IN (" + list + ")");
    f.verified = scalar(c, "SELECT bool_and(passed) FROM unlearn.verify('" + model + "')") == "t";
    drop_model_if_exists(c, model);
    return f;
}

struct CertifiedResult {
    double retrain_ms = 0, one_row_ms = 0;
    long within_budget = 0;  // single-row DELETEs before the first exact retrain
    bool budget_spent = false, verified = false;
};

// Strategy certified, one shard: single-row DELETEs until the bound passes
// the budget (or budget_deletes of them), each timed; the Newton-step ones
// give the median.
CertifiedResult certified(pqxx::connection &c, const Config &cfg) {
    CertifiedResult r;
    r.retrain_ms = time_sql_ms(c, "SELECT * FROM unlearn.train('c_lr', 'bench_cls', 'label', " + feature_array(cfg) +
                                      ", 'logistic_regression', 'certified')");
    std::vector<double> newton;
    for (long id : pick_ids(c, cfg.budget_deletes, 99)) {
        const double ms = time_sql_ms(c, "DELETE FROM bench_cls WHERE id = " + std::to_string(id));
        const std::string path = scalar(c, "SELECT details->>'path' FROM unlearn.audit WHERE model = 'c_lr' "
                                           "ORDER BY event_id DESC LIMIT 1");
        if (path == "retrain") {
            r.budget_spent = true;
            break;
        }
        newton.push_back(ms);
        ++r.within_budget;
    }
    r.one_row_ms = newton.empty() ? 0 : median(newton);
    r.verified = scalar(c, "SELECT bool_and(passed) FROM unlearn.verify('c_lr')") == "t";
    drop_model_if_exists(c, "c_lr");
    return r;
}

Config parse_args(int argc, char **argv) {
    Config cfg;
    auto usage = [&] {
        std::cerr << "usage: " << argv[0]
                  << " [--rows N] [--features F] [--deletes D] [--epochs E] [--budget-deletes B] [--dsn CONNINFO] [--keep]\n";
        std::exit(2);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--keep") cfg.keep = true;
        else if (a == "--rows" && has_value) cfg.rows = std::stol(argv[++i]);
        else if (a == "--features" && has_value) cfg.features = std::stoi(argv[++i]);
        else if (a == "--deletes" && has_value) cfg.deletes = std::stoi(argv[++i]);
        else if (a == "--epochs" && has_value) cfg.epochs = std::stoi(argv[++i]);
        else if (a == "--budget-deletes" && has_value) cfg.budget_deletes = std::stoi(argv[++i]);
        else if (a == "--dsn" && has_value) cfg.dsn = argv[++i];
        else usage();
    }
    if (cfg.rows < 1000 || cfg.features < 5 || cfg.deletes < 1 || cfg.epochs < 1) usage();
    return cfg;
}

}  // namespace

int main(int argc, char **argv) {
    const Config cfg = parse_args(argc, argv);
    try {
        pqxx::connection admin(cfg.dsn);
        const bool own_db = create_database(admin, kDatabase);
        std::vector<GridRow> grid;
        std::vector<ForgetResult> forgets;
        CertifiedResult cert;
        std::string version;
        const std::string load_before = load_average();
        {
            pqxx::connection c(own_db ? with_database(cfg.dsn, kDatabase) : cfg.dsn);
            exec(c, own_db ? "CREATE EXTENSION pg_unlearn" : "CREATE EXTENSION IF NOT EXISTS pg_unlearn");
            exec(c, "SET max_parallel_workers_per_gather = 0");
            version = scalar(c, "SHOW server_version");
            std::cerr << "loading " << cfg.rows << " training rows and " << cfg.rows / 10 << " held-out rows\n";
            load(c, cfg, "bench_cls", cfg.rows, 0.42);
            load(c, cfg, "bench_test", cfg.rows / 10, 0.24);
            for (const std::string algorithm : {"logistic_regression", "mlp"})
                for (int s : {1, 4, 16})
                    for (int r : {1, 4}) {
                        std::cerr << algorithm << ": S=" << s << " R=" << r << "\n";
                        const std::string model = "g_" + algorithm;
                        const double ms = train(c, cfg, model, algorithm, s, r);
                        grid.push_back({algorithm, s, r, ms, accuracy(c, cfg, model)});
                        drop_model_if_exists(c, model);
                    }
            std::cerr << "logistic_regression, certified: single-row DELETEs within the budget\n";
            cert = certified(c, cfg);
            for (const std::string algorithm : {"logistic_regression", "mlp"}) {
                std::cerr << algorithm << ": forgetting\n";
                double retrain = 0;
                for (const auto &g : grid)
                    if (g.algorithm == algorithm && g.shards == 16 && g.slices == 4) retrain = g.train_ms;
                forgets.push_back(forget(c, cfg, algorithm, retrain));
            }
            if (!own_db && !cfg.keep) exec(c, "DROP TABLE IF EXISTS bench_cls, bench_test");
        }
        if (own_db && !cfg.keep) exec(admin, std::string("DROP DATABASE ") + kDatabase);

        std::printf("pg_unlearn SISA benchmark: %ld rows x %d float8 features (label non-linear in 5 of them, 10%% "
                    "flipped), %ld held-out rows; mlp: 1 hidden layer of 32, %d epochs\n",
                    cfg.rows, cfg.features, cfg.rows / 10, cfg.epochs);
        std::printf("machine: nproc %d, %s, PostgreSQL %s; load average before %s, after %s\n\n", online_cpus(),
                    cpu_model().c_str(), version.c_str(), load_before.c_str(), load_average().c_str());
        std::printf("| algorithm | shards S | slices R | train | held-out accuracy |\n|---|---|---|---|---|\n");
        for (const auto &g : grid)
            std::printf("| %s | %d | %d | %s | %.4f |\n", g.algorithm.c_str(), g.shards, g.slices,
                        duration(g.train_ms).c_str(), g.accuracy);
        std::printf("\n| S=16, R=4 | retrain from scratch | forget one row (DELETE, median of %d) | ratio | target | met "
                    "| DELETE 1%% (%ld rows) | ratio to retrain | verify |\n|---|---|---|---|---|---|---|---|---|\n",
                    cfg.deletes, cfg.rows / 100);
        bool ok = true;
        for (const auto &f : forgets) {
            const double ratio = f.retrain_ms / f.one_row_ms;
            ok = ok && f.verified;
            std::printf("| %s | %s | %s | %s | >= 20x | %s | %s | %s | %s |\n", f.algorithm.c_str(),
                        duration(f.retrain_ms).c_str(), duration(f.one_row_ms).c_str(), times(ratio).c_str(),
                        ratio >= 20 ? "yes" : "**no**", duration(f.bulk_ms).c_str(),
                        times(f.retrain_ms / f.bulk_ms).c_str(), f.verified ? "passed" : "FAILED");
        }
        const double cratio = cert.one_row_ms > 0 ? cert.retrain_ms / cert.one_row_ms : 0;
        std::printf("\n| certified (S=1, noise 1, epsilon 1, delta 1e-4) | retrain from scratch | forget one row (DELETE, "
                    "median) | ratio | target | met | single-row DELETEs within the budget | verify |\n"
                    "|---|---|---|---|---|---|---|---|\n");
        std::printf("| logistic_regression | %s | %s | %s | >= 100x | %s | %ld%s | %s |\n", duration(cert.retrain_ms).c_str(),
                    duration(cert.one_row_ms).c_str(), times(cratio).c_str(), cratio >= 100 ? "yes" : "**no**",
                    cert.within_budget, cert.budget_spent ? "" : " (budget not spent: the run stopped there)",
                    cert.verified ? "passed" : "FAILED");
        ok = ok && cert.verified;
        return ok ? 0 : 1;  // a missed target is reported, not an error
    } catch (const std::exception &e) {
        std::cerr << "bench failed: " << e.what() << "\n";
        return 1;
    }
}
