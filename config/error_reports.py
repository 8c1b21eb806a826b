"""Error reports (mail to ADMINS, logs) with every credential of ours masked."""

import re

from django.views.debug import SafeExceptionReporterFilter


class CredentialMaskingFilter(SafeExceptionReporterFilter):
    """Django's filter, also masking META['CSRF_COOKIE'] (the CSRF secret) and session values.

    Django masks settings and META keys matching API|AUTH|TOKEN|KEY|SECRET|
    PASS|SIGNATURE|HTTP_COOKIE, which misses the CSRF secret that
    CsrfViewMiddleware copies into request.META["CSRF_COOKIE"].
    """

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CSRF|SESSION", flags=re.I
    )
