// The SQLSTATE every failure reaches the client with (src/core/sqlstate,
// which src/pg/guard packs for ereport): each ErrorKind's code, and
// out-of-memory, which SQL cannot provoke without exhausting the server.
#include <gtest/gtest.h>

#include <functional>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "sqlstate.hpp"

using namespace unlearn;

namespace {
std::string state_of_thrown(const std::function<void()> &fn) {
    try {
        fn();
    } catch (...) {
        return sqlstate_of(std::current_exception());
    }
    return "no exception";
}
}  // namespace

// PostgreSQL's errcodes table, written out: a kind mapped elsewhere fails here.
TEST(Sqlstate, EveryErrorKind) {
    const std::vector<std::pair<ErrorKind, std::string>> want = {
        {ErrorKind::InvalidParameter, "22023"},    {ErrorKind::DataException, "22000"},
        {ErrorKind::Singular, "22023"},            {ErrorKind::CorruptState, "XX001"},
        {ErrorKind::Internal, "XX000"},            {ErrorKind::UndefinedObject, "42704"},
        {ErrorKind::UndefinedColumn, "42703"},     {ErrorKind::DuplicateObject, "42710"},
        {ErrorKind::WrongObjectType, "42809"},     {ErrorKind::InsufficientPrivilege, "42501"},
        {ErrorKind::FeatureNotSupported, "0A000"}, {ErrorKind::SerializationFailure, "40001"},
        {ErrorKind::ResourceLimit, "54000"},       {ErrorKind::UniqueViolation, "23505"},
        {ErrorKind::ActiveTransaction, "25001"},
    };
    for (const auto &[kind, code] : want) {
        EXPECT_EQ(std::string(sqlstate_of(kind)), code) << static_cast<int>(kind);
        // the same code when the Error is caught as an exception
        EXPECT_EQ(state_of_thrown([kind = kind] { throw Error(kind, "x"); }), code) << static_cast<int>(kind);
    }
}

TEST(Sqlstate, OutOfMemoryIs53200) {
    EXPECT_EQ(state_of_thrown([] { throw std::bad_alloc(); }), "53200");
    EXPECT_EQ(state_of_thrown([] { throw std::bad_array_new_length(); }), "53200");
    // a real allocation the core cannot make: Eigen refuses a size that overflows
    EXPECT_EQ(state_of_thrown([] {
                  Eigen::Index n = Eigen::Index(1) << 31;
                  Eigen::MatrixXd m(n, n);
                  m(0, 0) = 1;
              }),
              "53200");
}

TEST(Sqlstate, AnythingElseIsInternal) {
    EXPECT_EQ(state_of_thrown([] { throw std::runtime_error("x"); }), "XX000");
    EXPECT_EQ(state_of_thrown([] { throw std::out_of_range("x"); }), "XX000");
    EXPECT_EQ(state_of_thrown([] { throw 42; }), "XX000");
}
