"""The complaint page /complaints/[id]: the worked example of a page package (docs/decisions.md,
"Page layout (issue 15)").

  state.py        ComplaintState: the actor from the login, one service call, typed rows
  rows.py         the row dataclasses the view shows (bools for flags), field errors too
  view.py         the page's layout: header, what was said, actions, timeline
  dialogs.py      添加备注 / 回复客户 / 挂起 / 重新打开 / the moves, and 分派: substates
  compensation.py 申请补偿: a substate
  closing.py      结案: a substate
  attachments.py  the 附件 section: a substate, its upload encrypted off the event loop

Other code imports from here only.
"""

from custapp.pages.complaint.attachments import ComplaintAttachmentsState
from custapp.pages.complaint.closing import CloseComplaintDialog
from custapp.pages.complaint.compensation import CompensationDialog
from custapp.pages.complaint.dialogs import ActionDialog, AssignDialog
from custapp.pages.complaint.state import ComplaintState
from custapp.pages.complaint.view import complaint_page

__all__ = [
    "ActionDialog",
    "AssignDialog",
    "CloseComplaintDialog",
    "CompensationDialog",
    "ComplaintAttachmentsState",
    "ComplaintState",
    "complaint_page",
]
