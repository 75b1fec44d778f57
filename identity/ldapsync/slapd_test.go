package ldapsync

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/internal/xvfb"
)

const (
	suffix  = "dc=corp,dc=example"
	adminDN = "cn=admin," + suffix
	adminPW = "secret-admin-pw"
)

// adSchema defines the Active Directory attributes the sync maps by
// default (with AD's OIDs), so that OpenLDAP entries look like AD users.
const adSchema = `
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.141 NAME 'department' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.102 NAME 'memberOf' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.1.1 NAME 'vigilTestADUser' AUXILIARY MAY ( sAMAccountName $ userAccountControl $ department $ memberOf $ userPrincipalName ) )
`

// slapd is a private OpenLDAP server for one test.
type slapd struct {
	dir      string
	url      string // ldap://
	ldapsURL string
	cmd      *exec.Cmd
	caFile   string
	t        *testing.T
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile
}

func startSlapd(t *testing.T) *slapd {
	t.Helper()
	xvfb.NeedCommand(t, "slapd", "slapd")
	xvfb.NeedCommand(t, "ldapadd", "ldap-utils")
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ad.schema"), []byte(adSchema), 0o644))
	cert, key := selfSigned(t, dir)
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include %[1]s/ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[1]s/slapd.pid
TLSCertificateFile %[2]s
TLSCertificateKeyFile %[3]s
database mdb
maxsize 33554432
suffix "%[4]s"
rootdn "%[5]s"
rootpw %[6]s
directory %[1]s/data
index objectClass eq
`, dir, cert, key, suffix, adminDN, adminPW)
	confFile := filepath.Join(dir, "slapd.conf")
	require.NoError(t, os.WriteFile(confFile, []byte(conf), 0o644))
	s := &slapd{dir: dir, t: t, caFile: cert}
	port, tlsPort := freePort(t), freePort(t)
	s.url = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	s.ldapsURL = fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort)
	var out bytes.Buffer
	s.cmd = exec.Command("slapd", "-d", "0", "-f", confFile, "-h", s.url+"/ "+s.ldapsURL+"/")
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	require.NoError(t, s.cmd.Start())
	t.Cleanup(s.stop)
	require.Eventually(t, func() bool {
		c, err := ldap.DialURL(s.url)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}, 20*time.Second, 50*time.Millisecond, "slapd did not start: %s", &out)
	return s
}

func (s *slapd) stop() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// ldif runs an LDAP tool (ldapadd, ldapmodify, ldapdelete) as the admin.
func (s *slapd) ldif(tool, input string) {
	s.t.Helper()
	cmd := exec.Command(tool, "-x", "-H", s.url, "-D", adminDN, "-w", adminPW)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	require.NoError(s.t, err, "%s: %s", tool, out)
}

const seed = `dn: dc=corp,dc=example
objectClass: dcObject
objectClass: organization
o: Corp
dc: corp

dn: ou=people,dc=corp,dc=example
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=corp,dc=example
objectClass: organizationalUnit
ou: groups

dn: cn=Max Boss,ou=people,dc=corp,dc=example
objectClass: inetOrgPerson
objectClass: vigilTestADUser
cn: Max Boss
sn: Boss
displayName: Max Boss
sAMAccountName: mboss
mail: max.boss@corp.example
department: Finance
title: Director
userAccountControl: 512

dn: cn=Jane Doe,ou=people,dc=corp,dc=example
objectClass: inetOrgPerson
objectClass: vigilTestADUser
cn: Jane Doe
sn: Doe
displayName: Jane Doe
sAMAccountName: JDoe
userPrincipalName: jdoe@corp.example
mail: jane.doe@corp.example
department: Finance
title: Accountant
manager: cn=Max Boss,ou=people,dc=corp,dc=example
memberOf: CN=Domain Admins,ou=groups,dc=corp,dc=example
memberOf: cn=finance,ou=groups,dc=corp,dc=example
userAccountControl: 512

dn: cn=Ex Employee,ou=people,dc=corp,dc=example
objectClass: inetOrgPerson
objectClass: vigilTestADUser
cn: Ex Employee
sn: Employee
sAMAccountName: exemp
userAccountControl: 514

dn: cn=Carl Contractor,ou=people,dc=corp,dc=example
objectClass: inetOrgPerson
objectClass: vigilTestADUser
cn: Carl Contractor
sn: Contractor
sAMAccountName: carl
employeeType: Contractor
memberOf: cn=vendors,ou=groups,dc=corp,dc=example

dn: cn=No Login,ou=people,dc=corp,dc=example
objectClass: inetOrgPerson
objectClass: vigilTestADUser
cn: No Login
sn: Login
`
