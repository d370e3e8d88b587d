// Helpers shared by the alerts and the recording rules.
{
  // withRunbookURL adds a runbook_url annotation to every alert of groups:
  // pattern (a format string with one %s) filled with the alert's name in
  // lower case, the anchor of its section in docs/runbooks.md.
  withRunbookURL(pattern, groups):: [
    group {
      rules: [
        rule + (
          if std.objectHas(rule, 'alert')
          then { annotations+: { runbook_url: pattern % std.asciiLower(rule.alert) } }
          else {}
        )
        for rule in group.rules
      ],
    }
    for group in groups
  ],
}
