#include <gtest/gtest.h>
#include "model.hpp"
TEST(Smoke, Builds) { EXPECT_EQ(unlearn::parse_algorithm("ridge"), unlearn::Algorithm::Ridge); }
