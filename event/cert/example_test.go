package cert_test

import (
	"fmt"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/event/cert"
)

// Stream a dataset directory and look at what the LDAP snapshots say about
// a user who left: events before the month they vanish from the
// directory carry their end date, events after it also the status
// "terminated".
func ExampleStream() {
	st, err := cert.Stream("testdata/old", cert.Options{}, func(e *event.Event) error {
		if e.User.Name == "USR0003" {
			fmt.Println(e.Timestamp.Format(time.DateTime), e.Event.Action,
				e.User.Employment.Status, e.User.Employment.EndDate)
		}
		return nil
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Events, "events from", st.Users, "users; skipped:", st.Skipped)
	// Output:
	// 2010-02-15 08:00:00 logon active 2010-03-01
	// 2010-02-15 08:05:00 device-connected active 2010-03-01
	// 2010-02-15 08:06:00 file-copied-to-removable active 2010-03-01
	// 2010-02-15 08:07:00 email-sent active 2010-03-01
	// 2010-03-02 23:45:00 logon terminated 2010-03-01
	// 2010-03-02 23:50:00 web-visit terminated 2010-03-01
	// 2010-03-03 00:10:00 logoff terminated 2010-03-01
	// 16 events from 4 users; skipped: map[bad date:2 bad value:1 missing field:3 unknown activity:1 wrong column count:2]
}
