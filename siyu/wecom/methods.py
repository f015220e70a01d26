"""Typed methods for the WeCom server APIs Siyu uses (wecom-api.md §4–12 and §14, plus the
organisation reads a sync needs). Names follow the API path.

Each method returns WeCom's JSON answer as a dict, ``errcode`` (always 0 here) and ``errmsg``
kept — on ``WeComClient`` as an awaitable, on ``SyncWeComClient`` directly. A non-zero errcode
raises (see :mod:`siyu.wecom.flow`). Arguments left as None are not sent, so WeCom applies its
own defaults. A few documented hard limits are checked before calling, raising ValueError, so a
request that cannot succeed costs no call.
"""

import abc
from collections.abc import Iterable, Sequence

ATTACHMENTS_MAX = 9
STATE_MAX = 30
TRANSFER_MAX = 100
JOIN_WAY_CHATS_MAX = 5
BATCH_USERS_LIMIT_MAX = 100


def _clean(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def _listed(values: Iterable | None) -> list | None:
    return None if values is None else list(values)


def _check_state(state: str | None) -> None:
    if state is not None and len(state) > STATE_MAX:
        raise ValueError(f"state is {len(state)} characters; WeCom allows at most {STATE_MAX}.")


def _check_max(name: str, values: Sequence | None, limit: int) -> None:
    if values is not None and len(values) > limit:
        raise ValueError(f"{name} has {len(values)} items; WeCom allows at most {limit} per call.")


class WeComMethods(abc.ABC):
    """Mixed into the async and the sync client, which provide ``_request``."""

    @abc.abstractmethod
    def _request(self, method: str, api: str, params: dict | None = None,
                 body: dict | None = None):
        """Performs one call (sync, or returning an awaitable in the async client)."""

    def _get(self, api: str, **params):
        return self._request("GET", api, _clean(params))

    def _post(self, api: str, **body):
        return self._request("POST", api, None, _clean(body))

    # --- organisation ----------------------------------------------------------------------

    def department_list(self, id: int | None = None):  # WeCom's parameter name
        return self._get("department/list", id=id)

    def user_list(self, department_id: int):
        return self._get("user/list", department_id=department_id)

    def user_get(self, userid: str):
        return self._get("user/get", userid=userid)

    # --- §4 contact ways (渠道活码) ------------------------------------------------------------

    def add_contact_way(self, *, type: int, scene: int, style: int | None = None,
                        remark: str | None = None, skip_verify: bool | None = None,
                        state: str | None = None, user: Sequence[str] | None = None,
                        party: Sequence[int] | None = None, is_temp: bool | None = None,
                        expires_in: int | None = None, chat_expires_in: int | None = None,
                        unionid: str | None = None, conclusions: dict | None = None):
        _check_state(state)
        return self._post("externalcontact/add_contact_way", type=type, scene=scene, style=style,
                          remark=remark, skip_verify=skip_verify, state=state,
                          user=_listed(user), party=_listed(party), is_temp=is_temp,
                          expires_in=expires_in, chat_expires_in=chat_expires_in,
                          unionid=unionid, conclusions=conclusions)

    def get_contact_way(self, config_id: str):
        return self._post("externalcontact/get_contact_way", config_id=config_id)

    def update_contact_way(self, config_id: str, *, remark: str | None = None,
                           skip_verify: bool | None = None, style: int | None = None,
                           state: str | None = None, user: Sequence[str] | None = None,
                           party: Sequence[int] | None = None, expires_in: int | None = None,
                           chat_expires_in: int | None = None, unionid: str | None = None,
                           conclusions: dict | None = None):
        _check_state(state)
        return self._post("externalcontact/update_contact_way", config_id=config_id,
                          remark=remark, skip_verify=skip_verify, style=style, state=state,
                          user=_listed(user), party=_listed(party), expires_in=expires_in,
                          chat_expires_in=chat_expires_in, unionid=unionid,
                          conclusions=conclusions)

    def del_contact_way(self, config_id: str):
        return self._post("externalcontact/del_contact_way", config_id=config_id)

    def list_contact_way(self, *, start_time: int | None = None, end_time: int | None = None,
                         cursor: str | None = None, limit: int | None = None):
        return self._post("externalcontact/list_contact_way", start_time=start_time,
                          end_time=end_time, cursor=cursor or None, limit=limit)

    # --- §5 welcome messages -----------------------------------------------------------------

    def send_welcome_msg(self, welcome_code: str, text: str | None = None,
                         attachments: Sequence[dict] = ()):
        _check_max("attachments", attachments, ATTACHMENTS_MAX)
        return self._post("externalcontact/send_welcome_msg", welcome_code=welcome_code,
                          text=None if text is None else {"content": text},
                          attachments=list(attachments) or None)

    def group_welcome_template_add(self, *, text: str | None = None, image: dict | None = None,
                                   link: dict | None = None, miniprogram: dict | None = None,
                                   file: dict | None = None, video: dict | None = None,
                                   agentid: int | None = None, notify: int | None = None):
        return self._post("externalcontact/group_welcome_template/add",
                          text=None if text is None else {"content": text}, image=image,
                          link=link, miniprogram=miniprogram, file=file, video=video,
                          agentid=agentid, notify=notify)

    def group_welcome_template_edit(self, template_id: str, *, text: str | None = None,
                                    image: dict | None = None, link: dict | None = None,
                                    miniprogram: dict | None = None, file: dict | None = None,
                                    video: dict | None = None, agentid: int | None = None):
        return self._post("externalcontact/group_welcome_template/edit", template_id=template_id,
                          text=None if text is None else {"content": text}, image=image,
                          link=link, miniprogram=miniprogram, file=file, video=video,
                          agentid=agentid)

    def group_welcome_template_get(self, template_id: str):
        return self._post("externalcontact/group_welcome_template/get", template_id=template_id)

    def group_welcome_template_del(self, template_id: str, *, agentid: int | None = None):
        return self._post("externalcontact/group_welcome_template/del", template_id=template_id,
                          agentid=agentid)

    # --- §6 customer groups and join ways (群活码) ----------------------------------------------

    def groupchat_list(self, *, status_filter: int = 0, owner_filter: Sequence[str] | None = None,
                       cursor: str | None = None, limit: int = 100):
        owners = None if owner_filter is None else {"userid_list": list(owner_filter)}
        return self._post("externalcontact/groupchat/list", status_filter=status_filter,
                          owner_filter=owners, cursor=cursor or None, limit=limit)

    def groupchat_get(self, chat_id: str, *, need_name: int = 1):
        return self._post("externalcontact/groupchat/get", chat_id=chat_id, need_name=need_name)

    def add_join_way(self, *, scene: int, chat_id_list: Sequence[str], remark: str | None = None,
                     auto_create_room: int | None = None, room_base_name: str | None = None,
                     room_base_id: int | None = None, state: str | None = None):
        _check_state(state)
        _check_max("chat_id_list", chat_id_list, JOIN_WAY_CHATS_MAX)
        return self._post("externalcontact/groupchat/add_join_way", scene=scene,
                          chat_id_list=list(chat_id_list), remark=remark,
                          auto_create_room=auto_create_room, room_base_name=room_base_name,
                          room_base_id=room_base_id, state=state)

    def get_join_way(self, config_id: str):
        return self._post("externalcontact/groupchat/get_join_way", config_id=config_id)

    def update_join_way(self, config_id: str, *, scene: int, chat_id_list: Sequence[str],
                        remark: str | None = None, auto_create_room: int | None = None,
                        room_base_name: str | None = None, room_base_id: int | None = None,
                        state: str | None = None):
        _check_state(state)
        _check_max("chat_id_list", chat_id_list, JOIN_WAY_CHATS_MAX)
        return self._post("externalcontact/groupchat/update_join_way", config_id=config_id,
                          scene=scene, chat_id_list=list(chat_id_list), remark=remark,
                          auto_create_room=auto_create_room, room_base_name=room_base_name,
                          room_base_id=room_base_id, state=state)

    def del_join_way(self, config_id: str):
        return self._post("externalcontact/groupchat/del_join_way", config_id=config_id)

    # --- §7 mass messaging (企业群发) -----------------------------------------------------------

    def add_msg_template(self, *, chat_type: str = "single",
                         external_userid: Sequence[str] | None = None,
                         chat_id_list: Sequence[str] | None = None, sender: str | None = None,
                         text: str | None = None, attachments: Sequence[dict] = (),
                         allow_select: bool | None = None, tag_filter: dict | None = None):
        _check_max("attachments", attachments, ATTACHMENTS_MAX)
        return self._post("externalcontact/add_msg_template", chat_type=chat_type,
                          external_userid=_listed(external_userid),
                          chat_id_list=_listed(chat_id_list), sender=sender,
                          text=None if text is None else {"content": text},
                          attachments=list(attachments) or None, allow_select=allow_select,
                          tag_filter=tag_filter)

    def get_groupmsg_list_v2(self, *, chat_type: str, start_time: int, end_time: int,
                             creator: str | None = None, filter_type: int | None = None,
                             cursor: str | None = None, limit: int | None = None):
        return self._post("externalcontact/get_groupmsg_list_v2", chat_type=chat_type,
                          start_time=start_time, end_time=end_time, creator=creator,
                          filter_type=filter_type, cursor=cursor or None, limit=limit)

    def get_groupmsg_task(self, msgid: str, *, cursor: str | None = None,
                          limit: int | None = None):
        return self._post("externalcontact/get_groupmsg_task", msgid=msgid,
                          cursor=cursor or None, limit=limit)

    def get_groupmsg_send_result(self, msgid: str, userid: str, *, cursor: str | None = None,
                                 limit: int | None = None):
        return self._post("externalcontact/get_groupmsg_send_result", msgid=msgid,
                          userid=userid, cursor=cursor or None, limit=limit)

    def remind_groupmsg_send(self, msgid: str):
        return self._post("externalcontact/remind_groupmsg_send", msgid=msgid)

    def cancel_groupmsg_send(self, msgid: str):
        return self._post("externalcontact/cancel_groupmsg_send", msgid=msgid)

    # --- §8 moments (客户朋友圈) -----------------------------------------------------------------

    def add_moment_task(self, *, text: str | None = None, attachments: Sequence[dict] = (),
                        visible_range: dict | None = None):
        _check_max("attachments", attachments, ATTACHMENTS_MAX)
        return self._post("externalcontact/add_moment_task",
                          text=None if text is None else {"content": text},
                          attachments=list(attachments) or None, visible_range=visible_range)

    def get_moment_task_result(self, jobid: str):
        return self._get("externalcontact/get_moment_task_result", jobid=jobid)

    def get_moment_task(self, moment_id: str, *, cursor: str | None = None,
                        limit: int | None = None):
        return self._post("externalcontact/get_moment_task", moment_id=moment_id,
                          cursor=cursor or None, limit=limit)

    def get_moment_send_result(self, moment_id: str, userid: str, *, cursor: str | None = None,
                               limit: int | None = None):
        return self._post("externalcontact/get_moment_send_result", moment_id=moment_id,
                          userid=userid, cursor=cursor or None, limit=limit)

    def get_moment_comments(self, moment_id: str, userid: str):
        return self._post("externalcontact/get_moment_comments", moment_id=moment_id,
                          userid=userid)

    def cancel_moment_task(self, moment_id: str):
        return self._post("externalcontact/cancel_moment_task", moment_id=moment_id)

    # --- §9 tags -------------------------------------------------------------------------------

    def get_corp_tag_list(self, tag_id: Sequence[str] = (), group_id: Sequence[str] = ()):
        return self._post("externalcontact/get_corp_tag_list", tag_id=list(tag_id) or None,
                          group_id=list(group_id) or None)

    def add_corp_tag(self, tag: Sequence[dict], *, group_id: str | None = None,
                     group_name: str | None = None, order: int | None = None,
                     agentid: int | None = None):
        return self._post("externalcontact/add_corp_tag", tag=list(tag), group_id=group_id,
                          group_name=group_name, order=order, agentid=agentid)

    def edit_corp_tag(self, id: str, *, name: str | None = None,
                      order: int | None = None, agentid: int | None = None):
        return self._post("externalcontact/edit_corp_tag", id=id, name=name, order=order,
                          agentid=agentid)

    def del_corp_tag(self, tag_id: Sequence[str] = (), group_id: Sequence[str] = (), *,
                     agentid: int | None = None):
        return self._post("externalcontact/del_corp_tag", tag_id=list(tag_id) or None,
                          group_id=list(group_id) or None, agentid=agentid)

    def mark_tag(self, userid: str, external_userid: str, add_tag: Sequence[str] = (),
                 remove_tag: Sequence[str] = ()):
        return self._post("externalcontact/mark_tag", userid=userid,
                          external_userid=external_userid, add_tag=list(add_tag) or None,
                          remove_tag=list(remove_tag) or None)

    # --- §10 customers -------------------------------------------------------------------------

    def get_follow_user_list(self):
        return self._get("externalcontact/get_follow_user_list")

    def list_external_contacts(self, userid: str):
        return self._get("externalcontact/list", userid=userid)

    def get_external_contact(self, external_userid: str, *, cursor: str | None = None):
        return self._get("externalcontact/get", external_userid=external_userid,
                         cursor=cursor or None)

    def batch_get_by_user(self, userid_list: Sequence[str], cursor: str = "", limit: int = 100):
        _check_max("userid_list", userid_list, BATCH_USERS_LIMIT_MAX)
        if not 1 <= limit <= BATCH_USERS_LIMIT_MAX:
            raise ValueError(f"limit is {limit}; WeCom allows 1 to {BATCH_USERS_LIMIT_MAX}.")
        return self._post("externalcontact/batch/get_by_user", userid_list=list(userid_list),
                          cursor=cursor or None, limit=limit)

    def remark(self, userid: str, external_userid: str, *, remark: str | None = None,
               description: str | None = None, remark_company: str | None = None,
               remark_mobiles: Sequence[str] | None = None,
               remark_pic_mediaid: str | None = None):
        return self._post("externalcontact/remark", userid=userid,
                          external_userid=external_userid, remark=remark,
                          description=description, remark_company=remark_company,
                          remark_mobiles=_listed(remark_mobiles),
                          remark_pic_mediaid=remark_pic_mediaid)

    # --- §11 transfers -------------------------------------------------------------------------

    def transfer_customer(self, handover_userid: str, takeover_userid: str,
                          external_userid: Sequence[str], *,
                          transfer_success_msg: str | None = None):
        _check_max("external_userid", external_userid, TRANSFER_MAX)
        return self._post("externalcontact/transfer_customer", handover_userid=handover_userid,
                          takeover_userid=takeover_userid,
                          external_userid=list(external_userid),
                          transfer_success_msg=transfer_success_msg)

    def transfer_result(self, handover_userid: str, takeover_userid: str, *,
                        cursor: str | None = None):
        return self._post("externalcontact/transfer_result", handover_userid=handover_userid,
                          takeover_userid=takeover_userid, cursor=cursor or None)

    def get_unassigned_list(self, *, cursor: str | None = None, page_size: int | None = None):
        return self._post("externalcontact/get_unassigned_list", cursor=cursor or None,
                          page_size=page_size)

    def resigned_transfer_customer(self, handover_userid: str, takeover_userid: str,
                                   external_userid: Sequence[str]):
        _check_max("external_userid", external_userid, TRANSFER_MAX)
        return self._post("externalcontact/resigned/transfer_customer",
                          handover_userid=handover_userid, takeover_userid=takeover_userid,
                          external_userid=list(external_userid))

    def resigned_transfer_result(self, handover_userid: str, takeover_userid: str, *,
                                 cursor: str | None = None):
        return self._post("externalcontact/resigned/transfer_result",
                          handover_userid=handover_userid, takeover_userid=takeover_userid,
                          cursor=cursor or None)

    def groupchat_transfer(self, chat_id_list: Sequence[str], new_owner: str):
        return self._post("externalcontact/groupchat/transfer", chat_id_list=list(chat_id_list),
                          new_owner=new_owner)

    def groupchat_onjob_transfer(self, chat_id_list: Sequence[str], new_owner: str):
        return self._post("externalcontact/groupchat/onjob_transfer",
                          chat_id_list=list(chat_id_list), new_owner=new_owner)

    # --- §12 statistics ------------------------------------------------------------------------

    def get_user_behavior_data(self, *, start_time: int, end_time: int,
                               userid: Sequence[str] = (), partyid: Sequence[int] = ()):
        return self._post("externalcontact/get_user_behavior_data", start_time=start_time,
                          end_time=end_time, userid=list(userid) or None,
                          partyid=list(partyid) or None)

    def groupchat_statistic(self, *, day_begin_time: int, day_end_time: int | None = None,
                            owner_filter: Sequence[str] | None = None,
                            order_by: int | None = None, order_asc: int | None = None,
                            offset: int | None = None, limit: int | None = None):
        owners = None if owner_filter is None else {"userid_list": list(owner_filter)}
        return self._post("externalcontact/groupchat/statistic", day_begin_time=day_begin_time,
                          day_end_time=day_end_time, owner_filter=owners, order_by=order_by,
                          order_asc=order_asc, offset=offset, limit=limit)

    def groupchat_statistic_group_by_day(self, *, day_begin_time: int,
                                         day_end_time: int | None = None,
                                         owner_filter: Sequence[str] | None = None):
        owners = None if owner_filter is None else {"userid_list": list(owner_filter)}
        return self._post("externalcontact/groupchat/statistic_group_by_day",
                          day_begin_time=day_begin_time, day_end_time=day_end_time,
                          owner_filter=owners)

    # --- §14 JS-SDK tickets and login ------------------------------------------------------------

    def get_jsapi_ticket(self):
        """The raw answer; ``jsapi_ticket()`` on the clients gives the cached ticket."""
        return self._get("get_jsapi_ticket")

    def get_agent_config_ticket(self):
        """The raw answer; ``agent_config_ticket()`` on the clients gives the cached ticket."""
        return self._get("ticket/get", type="agent_config")

    def auth_getuserinfo(self, code: str):
        return self._get("auth/getuserinfo", code=code)
