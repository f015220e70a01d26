"""Background jobs of acquisition. They take ids and are idempotent: marking a tag WeCom
already has is a no-op, and a refresh re-points the contact way at the current turn."""

from django_tasks import task

from siyu.core.jobs import TransientError, retrying


@retrying(max_attempts=6, base_delay=2.0, retry_on=(TransientError,))
@task()
def live_code_add_followup(*, add_id: int, corp_id: int) -> bool:
    """WeCom side of an attributed add: the code's tags via mark_tag."""
    from siyu.acquisition.live_codes.attribution import live_code_tags_push

    return live_code_tags_push(corp_id=corp_id, add_id=add_id)


@retrying(max_attempts=6, base_delay=2.0, retry_on=(TransientError,))
@task()
def refresh_live_code(*, live_code_id: int) -> list[str]:
    """Re-point a code's contact way after adds (round robin, daily caps)."""
    from siyu.acquisition.live_codes.attribution import live_code_refresh_queued

    return list(live_code_refresh_queued(live_code_id=live_code_id))
