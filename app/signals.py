"""Domain events one package sends and another reacts to, so that a lower package (the
organisation) never imports a higher one (accounts) to tell it something happened.

A receiver gets the session as the sender and keyword arguments; it flushes, never commits.
"""

from blinker import Namespace

_signals = Namespace()

#: A person was made inactive (a leaver). kwargs: person_id.
person_deactivated = _signals.signal("person-deactivated")

#: A framework draft is about to be deleted. kwargs: version_id. A receiver refuses by
#: raising DomainError (capability does, when evidence was recorded against the draft).
draft_discarding = _signals.signal("draft-discarding")

#: Role assignments were made or changed (by hand, by an import, by a rule); one signal for
#: a whole batch. kwargs: assignment_ids (list of RoleAssignment ids). The learning package
#: enrols current holders by its enrolment rules (set-based, once per person and path).
roles_assigned = _signals.signal("roles-assigned")
