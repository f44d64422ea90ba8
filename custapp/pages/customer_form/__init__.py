"""新建客户 and 编辑档案 at the counter: only name and one contact method are required, and each
optional field says why it is asked (minimum collection). Duplicate candidates are shown before
saving. Editing never puts a stored sensitive value into the form: a sensitive field left empty
keeps its value; what is typed replaces it. The same holds for an organisation's contact persons,
which are listed, changed, added and removed on the form (their phones shown masked).

A new customer is saved only with the privacy notice shown (002 CON-01): the form shows the
current notice and asks each consent-based purpose on its own, nothing preselected (000 CN-06);
the customer and the answers are saved in one transaction, with the signed form's number as the
written evidence (000 CN-03).

  state.py   CustomerFormState, and the form's values as the services' input
  rows.py    the form's starting values, contact rows, duplicate candidates (typed rows)
  view.py    the page's layout
"""

from custapp.pages.customer_form.rows import ContactRow, DuplicateRow, FieldValues
from custapp.pages.customer_form.state import (
    CustomerFormState,
    contact_inputs,
    create_with_consents,
    customer_input,
)
from custapp.pages.customer_form.view import customer_form_page

__all__ = [
    "ContactRow",
    "CustomerFormState",
    "DuplicateRow",
    "FieldValues",
    "contact_inputs",
    "create_with_consents",
    "customer_form_page",
    "customer_input",
]
