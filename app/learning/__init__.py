"""Learning paths: shipped and authored curricula, enrolment, progress, classroom sessions,
certificates of completion, external certificates and CPD, reminders."""
