// Self-signed ECDSA P-256 certificate of spec §10 (OpenSSL 3).
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "api.h"
#include "resetd/crypto/crypto.h"
#include "resetd/http/server.h"

namespace resetd::http {
namespace {

std::vector<std::string> local_ips() {
  std::vector<std::string> out;
  ifaddrs* ifs = nullptr;
  if (getifaddrs(&ifs) != 0) return out;
  for (ifaddrs* i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
    else if (i->ifa_addr->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf, sizeof buf);
    else
      continue;
    std::string ip = buf;
    if (ip.find('%') != std::string::npos || ip.rfind("fe80", 0) == 0) continue;
    bool dup = false;
    for (auto& e : out) dup = dup || e == ip;
    if (!dup) out.push_back(ip);
  }
  freeifaddrs(ifs);
  return out;
}

bool write_pem(const std::string& path, mode_t mode, const std::function<int(FILE*)>& w) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  FILE* f = fdopen(fd, "w");
  if (!f) {
    ::close(fd);
    return false;
  }
  bool ok = w(f) == 1 && fflush(f) == 0 && fsync(fileno(f)) == 0;
  fclose(f);
  return ok && ::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

bool make_self_signed(const std::string& cert_path, const std::string& key_path, std::string* error) {
  crypto::load_openssl_config();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  if (!key || !x) {
    *error = "tls: cannot generate a P-256 key";
    return false;
  }
  X509_set_version(x.get(), 2);
  unsigned char serial[16];
  FILE* ur = fopen("/dev/urandom", "rb");
  if (!ur || fread(serial, 1, sizeof serial, ur) != sizeof serial) {
    if (ur) fclose(ur);
    *error = "tls: no randomness";
    return false;
  }
  fclose(ur);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 10L * 366 * 24 * 3600);
  X509_set_pubkey(x.get(), key.get());
  char host[256] = "resetd";
  gethostname(host, sizeof host - 1);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<unsigned char*>(host), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("resetd appliance"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  std::string san = "DNS:" + std::string(host) + ",DNS:localhost";
  for (const auto& ip : local_ips()) san += ",IP:" + ip;
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san},
                            std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
                            std::pair{NID_key_usage, std::string("critical,digitalSignature")},
                            std::pair{NID_ext_key_usage, std::string("serverAuth")}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (!ext) {
      *error = "tls: bad certificate extension";
      return false;
    }
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x.get(), key.get(), EVP_sha256()) <= 0) {
    *error = "tls: cannot sign the certificate";
    return false;
  }
  if (!write_pem(key_path, 0600, [&](FILE* f) {
        return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
      }) ||
      !write_pem(cert_path, 0644, [&](FILE* f) { return PEM_write_X509(f, x.get()); })) {
    *error = "tls: cannot write " + cert_path + " / " + key_path;
    return false;
  }
  return true;
}

SSL_CTX* make_tls_context(const std::string& cert, const std::string& key, std::string* error) {
  // The operator's openssl.cnf first: SSL_CTX_new applies its system_default
  // section (MinProtocol, ...) to the new context.
  crypto::load_openssl_config();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  // TLS 1.2 is the floor; a higher one from openssl.cnf (MinProtocol =
  // TLSv1.3) stays: the floor is only ever raised, never lowered.
  const long configured_min = ctx ? SSL_CTX_get_min_proto_version(ctx) : 0;
  const bool ok =
      ctx && SSL_CTX_set_min_proto_version(ctx, std::max<long>(configured_min, TLS1_2_VERSION)) == 1 &&
      SSL_CTX_set_cipher_list(ctx,
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") == 1 &&
      SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) == 1 &&
      SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) == 1 &&
      SSL_CTX_check_private_key(ctx) == 1;
  if (!ok) {
    if (ctx) SSL_CTX_free(ctx);
    *error = "tls: cannot load certificate " + cert + " / key " + key;
    return nullptr;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  return ctx;
}

std::string cert_fingerprint(const std::string& cert_path) {
  crypto::load_openssl_config();
  FILE* f = fopen(cert_path.c_str(), "r");
  if (!f) return {};
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  fclose(f);
  if (!x) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(x, EVP_sha256(), md, &n);
  X509_free(x);
  std::string out;
  char b[4];
  for (unsigned i = 0; i < n; ++i) {
    snprintf(b, sizeof b, "%02X", md[i]);
    if (i) out += ':';
    out += b;
  }
  return out;
}

}  // namespace resetd::http
