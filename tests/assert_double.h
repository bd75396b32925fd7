/* A double comparison for the unit tests. Included after <cmocka.h>. */
#ifndef TESTS_ASSERT_DOUBLE_H
#define TESTS_ASSERT_DOUBLE_H

/* cmocka 1.1.5 (Debian 11) has no assert_double_equal; assert_float_equal
 * rounds to float, too coarse for Unix times and money. */
#define assert_double_equal(a, b, eps)                                         \
  do {                                                                         \
    double a_ = (a), b_ = (b);                                                 \
    double d_ = a_ > b_ ? a_ - b_ : b_ - a_;                                   \
    if (!(d_ <= (eps)))                                                        \
      fail_msg("%.17g != %.17g", a_, b_);                                      \
  } while (0)

#endif
