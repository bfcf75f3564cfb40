import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.sync.webhooks_in import (
    RETRY_AFTER_S,
    WebhookAnswer,
    webhook_receive,
    webhook_rejection_count,
)

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def highlevel_webhook(request):
    """HighLevel's webhook endpoint: verify the raw body, store, answer within milliseconds.

    HighLevel retries only on 429, so nothing here answers 500: an unexpected failure is logged
    and answered 429, and the delivery comes again.
    """
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > limit:  # refused before reading a byte of it
            webhook_rejection_count(reason="body too large", store=False)
            return JsonResponse({"message": "body too large"}, status=413)
        raw = request.read(limit + 1)  # a body without a length is read only up to the limit
        answer = webhook_receive(raw_body=raw, headers=request.headers)
    except Exception:
        logger.exception("webhook intake failed: answering 429 so HighLevel retries")
        answer = WebhookAnswer(429, "not stored: try again", retry_after=RETRY_AFTER_S)
    response = JsonResponse({"message": answer.message}, status=answer.status)
    if answer.retry_after:
        response["Retry-After"] = str(answer.retry_after)
    return response
