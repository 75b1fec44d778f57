package scim

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "jdoe@example.com"`,
		`externalId eq "0a21f0f2" and userName eq "x"`,
		`emails[type eq "work"].value eq "a@b.c"`,
		`emails[type eq "work" and value co "@example.com"]`,
		`not (active eq false) or (title pr and meta.lastModified gt "2011-05-13T04:42:34Z")`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"`,
		`displayName eq "Domain \"Admins\""`, `((((a eq 1))))`, `a eq`, `[`, `"`, `x eq null`,
	} {
		f.Add(s)
	}
	res := map[string]any{"userName": "jdoe@example.com", "active": true,
		"emails":      []any{map[string]any{"type": "work", "value": "a@b.c"}},
		urnEnterprise: map[string]any{"employeeNumber": "7"}}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			require.ErrorIs(t, err, errInvalidFilter)
			return
		}
		matched := flt.match(res)
		// The printed form parses again to a filter that decides alike.
		again, err := ParseFilter(flt.String())
		require.NoError(t, err, "reparse %q (from %q)", flt.String(), s)
		require.Equal(t, matched, again.match(res), "%q vs %q", s, flt.String())
	})
}

func FuzzPatchPath(f *testing.F) {
	for _, s := range []string{
		`members`, `name.familyName`, `emails[type eq "work"].value`, `members[value eq "2819c223"]`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`,
		`addresses[type eq "work" and primary eq true].streetAddress`, `emails[type eq "]"].value`,
		`a[`, `a]`, `[x eq 1]`, `a[b eq 1].`, `a.b.c`,
	} {
		f.Add(s, `"v"`)
	}
	f.Fuzz(func(t *testing.T, path, value string) {
		p, err := parsePatchPath(path)
		if err != nil {
			require.ErrorIs(t, err, errInvalidPath)
			return
		}
		again, err := parsePatchPath(p.String())
		require.NoError(t, err, "reparse %q (from %q)", p.String(), path)
		require.Equal(t, p.String(), again.String())
		// Applying any operation on the path never panics, and fails only
		// with a SCIM error.
		res := map[string]any{"userName": "u", "emails": []any{map[string]any{"type": "work", "value": "a@b"}}}
		for _, op := range []string{"add", "replace", "remove"} {
			err := applyPatch(res, patchOp{Op: op, Path: path, Value: value})
			var se *scimError
			if err != nil {
				require.True(t, errors.As(err, &se), "%v", err)
			}
		}
	})
}
