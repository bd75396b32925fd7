/* Anti-Captcha's errorIds that the plugin acts on (vendor's errors page, see
 * API.md), named once; what each means: service_error() (api/service.h). */
#ifndef ANTICAPTCHA_API_ERRORS_H
#define ANTICAPTCHA_API_ERRORS_H

#define API_ERROR_KEY_DOES_NOT_EXIST 1
#define API_ERROR_ZERO_BALANCE 10
#define API_ERROR_IP_NOT_ALLOWED 11
#define API_ERROR_NO_SUCH_METHOD 14
#define API_ERROR_NO_SUCH_CAPCHA_ID 16
#define API_ERROR_IP_BLOCKED 21
#define API_ERROR_ACCOUNT_SUSPENDED 55

#endif
