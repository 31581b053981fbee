#include "CShims.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

typedef void *(*easy_init_fn)(void);
typedef void (*easy_void_fn)(void *);
typedef int (*easy_setopt_fn)(void *, int, ...);
typedef int (*easy_perform_fn)(void *);
typedef int (*easy_getinfo_fn)(void *, int, ...);
typedef const char *(*easy_strerror_fn)(int);
typedef void *(*slist_append_fn)(void *, const char *);
typedef void (*slist_free_fn)(void *);
typedef int (*global_init_fn)(long);

static struct {
    easy_init_fn easy_init;
    easy_void_fn easy_reset;
    easy_void_fn easy_cleanup;
    easy_setopt_fn easy_setopt;
    easy_perform_fn easy_perform;
    easy_getinfo_fn easy_getinfo;
    easy_strerror_fn easy_strerror;
    slist_append_fn slist_append;
    slist_free_fn slist_free_all;
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded = 0;

static void load(void) {
    const char *names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so", "libcurl.4.dylib", "/usr/lib/libcurl.4.dylib"};
    void *library = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !library; i++) {
        library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (!library) return;
    curl.easy_init = (easy_init_fn)dlsym(library, "curl_easy_init");
    curl.easy_reset = (easy_void_fn)dlsym(library, "curl_easy_reset");
    curl.easy_cleanup = (easy_void_fn)dlsym(library, "curl_easy_cleanup");
    curl.easy_setopt = (easy_setopt_fn)dlsym(library, "curl_easy_setopt");
    curl.easy_perform = (easy_perform_fn)dlsym(library, "curl_easy_perform");
    curl.easy_getinfo = (easy_getinfo_fn)dlsym(library, "curl_easy_getinfo");
    curl.easy_strerror = (easy_strerror_fn)dlsym(library, "curl_easy_strerror");
    curl.slist_append = (slist_append_fn)dlsym(library, "curl_slist_append");
    curl.slist_free_all = (slist_free_fn)dlsym(library, "curl_slist_free_all");
    global_init_fn global_init = (global_init_fn)dlsym(library, "curl_global_init");
    if (!curl.easy_init || !curl.easy_reset || !curl.easy_cleanup || !curl.easy_setopt || !curl.easy_perform ||
        !curl.easy_getinfo || !curl.easy_strerror || !curl.slist_append || !curl.slist_free_all || !global_init) {
        return;
    }
    /* CURL_GLOBAL_ALL; reference counted, so FoundationNetworking's own call is unaffected. */
    if (global_init(3L) != 0) return;
    loaded = 1;
}

int cshims_curl_load(void) {
    pthread_once(&load_once, load);
    return loaded;
}

void *cshims_curl_easy_init(void) { return curl.easy_init(); }
void cshims_curl_easy_reset(void *handle) { curl.easy_reset(handle); }
void cshims_curl_easy_cleanup(void *handle) { curl.easy_cleanup(handle); }
int cshims_curl_setopt_long(void *handle, int option, long value) { return curl.easy_setopt(handle, option, value); }
int cshims_curl_setopt_pointer(void *handle, int option, const void *value) { return curl.easy_setopt(handle, option, value); }
int cshims_curl_setopt_data_callback(void *handle, int option, cshims_curl_data_callback callback) {
    return curl.easy_setopt(handle, option, callback);
}
int cshims_curl_setopt_progress_callback(void *handle, int option, cshims_curl_progress_callback callback) {
    return curl.easy_setopt(handle, option, callback);
}
int cshims_curl_perform(void *handle) { return curl.easy_perform(handle); }
int cshims_curl_getinfo_long(void *handle, int info, long *value) { return curl.easy_getinfo(handle, info, value); }
int cshims_curl_getinfo_double(void *handle, int info, double *value) { return curl.easy_getinfo(handle, info, value); }
const char *cshims_curl_strerror(int code) { return curl.easy_strerror(code); }
void *cshims_curl_slist_append(void *list, const char *text) { return curl.slist_append(list, text); }
void cshims_curl_slist_free_all(void *list) { curl.slist_free_all(list); }
