from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.sync.webhooks_in import webhook_receive


@csrf_exempt
@require_POST
def highlevel_webhook(request):
    """HighLevel's webhook endpoint: verify the raw body, store, answer within milliseconds."""
    answer = webhook_receive(raw_body=request.body, headers=request.headers)
    return JsonResponse({"message": answer.message}, status=answer.status)
