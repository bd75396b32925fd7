/* The API's errorIds that the plugin acts on (vendor's errors page, see
 * API.md), named once, and what each concerns: the task or the account. */
#ifndef ANTICAPTCHA_API_ERRORS_H
#define ANTICAPTCHA_API_ERRORS_H

#include <stdbool.h>
#include <stdint.h>

#define API_ERROR_KEY_DOES_NOT_EXIST 1
#define API_ERROR_ZERO_BALANCE 10
#define API_ERROR_IP_NOT_ALLOWED 11
#define API_ERROR_NO_SUCH_METHOD 14
#define API_ERROR_NO_SUCH_CAPCHA_ID 16
#define API_ERROR_IP_BLOCKED 21
#define API_ERROR_ACCOUNT_SUSPENDED 55

/* True for the errors that every request of the account (or from this host)
 * would get alike: a wrong key, a host not allowed or blocked, a suspended
 * account, a wrong URL. Sending the account's other reports would only
 * repeat the refusal, which the vendor punishes with bans. The others
 * (errorId 16 above all) concern one task. */
static inline bool api_error_concerns_account(int64_t error_id) {
  switch (error_id) {
  case API_ERROR_KEY_DOES_NOT_EXIST:
  case API_ERROR_IP_NOT_ALLOWED:
  case API_ERROR_NO_SUCH_METHOD:
  case API_ERROR_IP_BLOCKED:
  case API_ERROR_ACCOUNT_SUSPENDED:
    return true;
  default:
    return false;
  }
}

#endif
