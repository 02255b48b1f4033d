"""The panel's feedback part: shoppers' ratings of their visits, by branch and over time."""

from django.utils.translation import gettext_lazy

# The navigation's label for the part (hub/panel/templatetags/panel.py `_NAV`), here so
# that its Persian is in this part's catalogue.
NAV = gettext_lazy("Feedback")
