/*
 * Test-only shim that lets Debian's NXP CST 3.3.1 (/usr/bin/cst, package
 * imx-code-signing-tool 3.3.1+dfsg-2) run.
 *
 * The Debian binary is linked against libc only: every OpenSSL function it calls and the
 * helpers NXP ships as replaceable libraries (libpw/libpkey: get_key_file,
 * get_passcode_to_key_file; misc_helper: read_file; ssl_wrapper: encryptcbc, encryptccm)
 * are weak undefined symbols (`nm -D /usr/bin/cst | grep ' w '`), so the first call
 * jumps to address 0. The tests run it as
 *
 *     LD_PRELOAD="libcrypto.so.3 cst_shim.so" cst -i app.csf -o app_csf.bin
 *
 * libcrypto.so.3 supplies OpenSSL; this file supplies the helpers, written from the
 * interface CST documents (pkey.h, misc_helper.h: names, arguments, what they return),
 * plus a time() that reads SOURCE_DATE_EPOCH so that the CMS signingTime CST writes, and
 * with it the RSA signatures, are reproducible. Nothing here is used by imgtool itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* misc_helper.h: the bytes read_file returns. */
typedef struct {
	uint8_t *entry;
	size_t entry_bytes;
} byte_str_t;

/*
 * pkey.h: the private key file of a certificate. CST's convention (and that of
 * hab4_pki_tree.sh): ".../crts/NAME_crt.pem" has its key in ".../keys/NAME_key.pem".
 * Returns 0 (CAL_SUCCESS).
 */
int32_t get_key_file(const char *cert_file, char *key_file)
{
	char *p;

	strcpy(key_file, cert_file);
	p = strstr(key_file, "crts/");
	if (p != NULL)
		memcpy(p, "keys", 4);  /* the folder */
	p = strrchr(key_file, '/');
	p = strstr(p != NULL ? p : key_file, "crt");
	if (p != NULL)
		memcpy(p, "key", 3);   /* the file name */
	return 0;
}

/*
 * pkey.h: OpenSSL's pem_password_cb. userdata is the key file name; the password is the
 * first line of key_pass.txt in the key's folder (as hab4_pki_tree.sh writes it).
 * Returns the password length, 0 without a password file.
 */
int get_passcode_to_key_file(char *buf, int size, int rwflag, void *userdata)
{
	char path[4096];
	const char *key_file = userdata;
	const char *slash = strrchr(key_file, '/');
	size_t dir = slash != NULL ? (size_t)(slash - key_file) + 1 : 0;
	FILE *f;
	int n;

	(void)rwflag;
	if (dir + sizeof "key_pass.txt" > sizeof path)
		return 0;
	memcpy(path, key_file, dir);
	strcpy(path + dir, "key_pass.txt");
	f = fopen(path, "r");
	if (f == NULL || fgets(buf, size, f) == NULL) {
		if (f != NULL)
			fclose(f);
		return 0;
	}
	fclose(f);
	n = (int)strcspn(buf, "\r\n");
	buf[n] = '\0';
	return n;
}

/*
 * misc_helper.h: read a whole file into byte_str. Offsets (AHAB only) are not needed by
 * the HAB4 commands the tests use: refuse them loudly.
 */
void read_file(const char *filename, byte_str_t *byte_str, void *offsets)
{
	FILE *f = fopen(filename, "rb");
	long n;

	if (offsets != NULL) {
		fprintf(stderr, "cst_shim: read_file with offsets is not supported\n");
		exit(2);
	}
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "cst_shim: cannot read %s\n", filename);
		exit(2);
	}
	byte_str->entry = malloc(n > 0 ? (size_t)n : 1);
	byte_str->entry_bytes = (size_t)n;
	if (byte_str->entry == NULL || fread(byte_str->entry, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cst_shim: cannot read %s\n", filename);
		exit(2);
	}
	fclose(f);
}

/* ssl_wrapper: encrypted boot is not exercised; fail instead of crashing. */
int encryptcbc(void)
{
	fprintf(stderr, "cst_shim: encryption (encryptcbc) is not supported\n");
	return -1;
}

int encryptccm(void)
{
	fprintf(stderr, "cst_shim: encryption (encryptccm) is not supported\n");
	return -1;
}

/* The clock CST and OpenSSL read for signingTime: SOURCE_DATE_EPOCH when set. */
time_t time(time_t *out)
{
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	struct timespec now;
	time_t t;

	if (epoch != NULL) {
		t = (time_t)strtoll(epoch, NULL, 10);
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		t = now.tv_sec;
	}
	if (out != NULL)
		*out = t;
	return t;
}
