from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.sync.webhooks_in import webhook_receive, webhook_rejection_count


@csrf_exempt
@require_POST
def highlevel_webhook(request):
    """HighLevel's webhook endpoint: verify the raw body, store, answer within milliseconds."""
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:  # refused before reading a byte of it
        webhook_rejection_count(reason="body too large", store=False)
        return JsonResponse({"message": "body too large"}, status=413)
    raw = request.read(limit + 1)  # a body without a length is read only up to the limit
    answer = webhook_receive(raw_body=raw, headers=request.headers)
    return JsonResponse({"message": answer.message}, status=answer.status)
