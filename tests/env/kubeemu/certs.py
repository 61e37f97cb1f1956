"""TLS material: a throw-away CA and a server certificate for 127.0.0.1/localhost (EC P-256).

Light on imports on purpose: the entry script starts the openssl processes before it imports
the rest of the emulator, so key generation and Python's imports overlap (start-up < 1 s)."""

import os
import shutil
import subprocess
import tempfile


class Pending:
    def __init__(self, workdir, proc):
        self.workdir, self.proc = workdir, proc


def _paths(workdir):
    return tuple(os.path.join(workdir, n) for n in ("ca.key", "ca.crt", "server.key", "server.csr",
                                                     "server.crt", "ext.cnf"))


def start():
    """Starts generating the certificates with the openssl CLI (if there is one)."""
    workdir = tempfile.mkdtemp(prefix="kube-emu-")
    openssl = shutil.which("openssl") or ("/usr/bin/openssl" if os.path.exists("/usr/bin/openssl") else None)
    if not openssl:
        return Pending(workdir, None)
    ca_key, ca_crt, key, csr, crt, ext = _paths(workdir)
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    cmds = [
        [openssl, "req", "-x509"] + ec + ["-keyout", ca_key, "-out", ca_crt, "-days", "3650",
                                          "-subj", "/CN=kube-emulator-ca",
                                          "-addext", "basicConstraints=critical,CA:TRUE",
                                          "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
        [openssl, "req"] + ec + ["-keyout", key, "-out", csr, "-subj", "/CN=kube-apiserver"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
         "-out", crt, "-days", "3650", "-extfile", ext],
    ]
    script = " && ".join(" ".join("'%s'" % a.replace("'", "'\\''") for a in c) for c in cmds)
    proc = subprocess.Popen(["/bin/sh", "-c", script], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return Pending(workdir, proc)


def finish(pending):
    """(ca.crt, server.crt, server.key) paths; falls back to the cryptography package."""
    ca_key, ca_crt, key, csr, crt, ext = _paths(pending.workdir)
    if pending.proc is not None:
        _, err = pending.proc.communicate()
        if pending.proc.returncode == 0:
            return ca_crt, crt, key
    return _with_cryptography(ca_crt, crt, key)


def _with_cryptography(ca_crt, crt, key):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec as cec
    from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
    import datetime
    import ipaddress
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    later = now + datetime.timedelta(days=3650)
    cak = cec.generate_private_key(cec.SECP256R1())
    can = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-emulator-ca")])
    cac = (x509.CertificateBuilder().subject_name(can).issuer_name(can).public_key(cak.public_key())
           .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(later)
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
           .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
           .sign(cak, hashes.SHA256()))
    sk = cec.generate_private_key(cec.SECP256R1())
    sc = (x509.CertificateBuilder()
          .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
          .issuer_name(can).public_key(sk.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(later)
          .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                      x509.DNSName("localhost")]), critical=False)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
          .sign(cak, hashes.SHA256()))
    with open(ca_crt, "wb") as f:
        f.write(cac.public_bytes(serialization.Encoding.PEM))
    with open(crt, "wb") as f:
        f.write(sc.public_bytes(serialization.Encoding.PEM))
    with open(key, "wb") as f:
        f.write(sk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()))
    return ca_crt, crt, key
