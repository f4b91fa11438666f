// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pair rule tables: the built-in profiles, in the spec file format. */
#include <string.h>
#include "detect/pair/pair_spec.h"

/* A constructor that tail-calls another traced constructor of the same
 * resource (SSL_CTX_new → SSL_CTX_new_ex, BIO_new → BIO_new_ex: a jmp in
 * Debian's libssl/libcrypto) is fine: the correlator folds a nested acquire
 * of the same handle on the same thread. A real call is not: the inner one
 * returns first, and its stack stops at the outer one's return address,
 * which the outer uretprobe has replaced with the trampoline, so the caller
 * is lost. Trace only the inner constructors then (see glib_spec).
 * Calls inside the library hit the uprobes too, so internal references
 * (SSL_new up-refs its SSL_CTX; SSL_free frees it) balance out.
 */
static const char freeunit_spec[] =
    "# NGINX Unit / FreeUnit memory pools (src/nxt_mp.c), linked into the executable.\n"
    "# nxt_mp_release() calls nxt_mp_destroy() itself when the count drops to 0.\n"
    "nxt_mp  acquire  nxt_mp_create   ret\n"
    "nxt_mp  retain   nxt_mp_retain   arg0\n"
    "nxt_mp  release  nxt_mp_release  arg0\n"
    "nxt_mp  destroy  nxt_mp_destroy  arg0\n";

static const char pjsip_spec[] =
    "# pjlib pools: pj_pool_t *pj_pool_create(factory, name, initial, increment, cb);\n"
    "# void pj_pool_release(pj_pool_t *). pj_pool_safe_release() is inline and calls it.\n"
    "pj_pool  acquire  pj_pool_create   ret   in libpj.so*\n"
    "pj_pool  release  pj_pool_release  arg0  in libpj.so*\n";

static const char openssl_spec[] =
    "# OpenSSL 3 objects; BIO_free_all() frees a chain through BIO_free().\n"
    "ssl             acquire  SSL_new                     ret   in libssl.so*\n"
    "ssl             retain   SSL_up_ref                  arg0  in libssl.so*\n"
    "ssl             release  SSL_free                    arg0  in libssl.so*\n"
    "ssl_ctx         acquire  SSL_CTX_new                 ret   in libssl.so*\n"
    "ssl_ctx         acquire  SSL_CTX_new_ex              ret   in libssl.so*\n"
    "ssl_ctx         retain   SSL_CTX_up_ref              arg0  in libssl.so*\n"
    "ssl_ctx         release  SSL_CTX_free                arg0  in libssl.so*\n"
    "bio             acquire  BIO_new                     ret   in libcrypto.so*\n"
    "bio             acquire  BIO_new_ex                  ret   in libcrypto.so*\n"
    "bio             retain   BIO_up_ref                  arg0  in libcrypto.so*\n"
    "bio             release  BIO_free                    arg0  in libcrypto.so*\n"
    "evp_md_ctx      acquire  EVP_MD_CTX_new              ret   in libcrypto.so*\n"
    "evp_md_ctx      release  EVP_MD_CTX_free             arg0  in libcrypto.so*\n"
    "evp_cipher_ctx  acquire  EVP_CIPHER_CTX_new          ret   in libcrypto.so*\n"
    "evp_cipher_ctx  release  EVP_CIPHER_CTX_free         arg0  in libcrypto.so*\n"
    "# every constructor: digest signing makes its context with _new_from_pkey\n"
    "evp_pkey_ctx    acquire  EVP_PKEY_CTX_new            ret   in libcrypto.so*\n"
    "evp_pkey_ctx    acquire  EVP_PKEY_CTX_new_id         ret   in libcrypto.so*\n"
    "evp_pkey_ctx    acquire  EVP_PKEY_CTX_new_from_name  ret   in libcrypto.so*\n"
    "evp_pkey_ctx    acquire  EVP_PKEY_CTX_new_from_pkey  ret   in libcrypto.so*\n"
    "evp_pkey_ctx    acquire  EVP_PKEY_CTX_dup            ret   in libcrypto.so*\n"
    "evp_pkey_ctx    release  EVP_PKEY_CTX_free           arg0  in libcrypto.so*\n";

static const char gnutls_spec[] =
    "# int gnutls_init(gnutls_session_t *session, unsigned flags): an out-parameter\n"
    "gnutls_session  acquire  gnutls_init    *arg0  in libgnutls.so*\n"
    "gnutls_session  release  gnutls_deinit  arg0   in libgnutls.so*\n";

static const char glib_spec[] =
    "# GObject references. g_object_new is not traced: it calls (not tail-calls)\n"
    "# g_object_new_valist or g_object_new_with_properties, which create every object\n"
    "# and do not call each other or g_object_newv, so each creation is seen once with\n"
    "# a whole stack (g_object_new stays in it as a frame). g_object_ref_sink works\n"
    "# through g_object_ref/g_object_unref, so floating refs balance.\n"
    "gobject  acquire  g_object_new_valist           ret   in libgobject-2.0.so*\n"
    "gobject  acquire  g_object_new_with_properties  ret   in libgobject-2.0.so*\n"
    "gobject  acquire  g_object_newv                 ret   in libgobject-2.0.so*\n"
    "gobject  retain   g_object_ref                  arg0  in libgobject-2.0.so*\n"
    "gobject  release  g_object_unref                arg0  in libgobject-2.0.so*\n";

static const struct {
	const char *name;
	const char *text;
} profiles[] = {
    {"freeunit", freeunit_spec}, {"pjsip", pjsip_spec}, {"openssl", openssl_spec},
    {"gnutls", gnutls_spec},	 {"glib", glib_spec},
};

static const char *const profile_names[] = {"freeunit", "pjsip", "openssl", "gnutls", "glib", NULL};

_Static_assert(sizeof(profiles) / sizeof(profiles[0]) + 1 ==
		   sizeof(profile_names) / sizeof(profile_names[0]),
	       "profile tables");

const char *pair_spec__profile(const char *name)
{
	for (size_t i = 0; name && i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (!strcmp(profiles[i].name, name))
			return profiles[i].text;
	return NULL;
}

const char *const *pair_spec__profiles(void)
{
	return profile_names;
}
