// Crash attribution and guarded plugin calls; see include/muscaps_host.h.
#define _GNU_SOURCE
#include "muscaps_host.h"

#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

// MARK: - Per-thread crash context
// initial-exec TLS: reading it in a signal handler is a plain %fs-relative load (no __tls_get_addr,
// which may allocate). Only pointers live here; the label text is owned by the caller.
static __thread const char *volatile current_label __attribute__((tls_model("initial-exec")));
static __thread const char *volatile current_call __attribute__((tls_model("initial-exec")));
static __thread void *thread_altstack __attribute__((tls_model("initial-exec")));

static inline void enter(const char *label, const char *call) {
    current_label = label;
    current_call = call;
    atomic_signal_fence(memory_order_seq_cst); // the handler (same thread) sees both before the call
}

static inline void leave(void) {
    atomic_signal_fence(memory_order_seq_cst);
    current_call = NULL;
    current_label = NULL;
}

// MARK: - Code ranges of loaded plugins (fallback attribution by instruction address)
#define MAX_IMAGES 64
#define MAX_RANGES 8
typedef struct {
    uintptr_t start[MAX_RANGES], end[MAX_RANGES];
    int range_count;
    char label[512];
} image_entry;
static image_entry images[MAX_IMAGES];
static atomic_int image_count;
static pthread_mutex_t image_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    uintptr_t target;
    image_entry *entry;
    int found;
} phdr_search;

static int find_image(struct dl_phdr_info *info, size_t size, void *context) {
    (void)size;
    phdr_search *search = context;
    int contains = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (search->target >= start && search->target < start + ph->p_memsz) contains = 1;
    }
    if (!contains) return 0;
    for (int i = 0; i < info->dlpi_phnum && search->entry->range_count < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        int r = search->entry->range_count++;
        search->entry->start[r] = info->dlpi_addr + ph->p_vaddr;
        search->entry->end[r] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    }
    search->found = 1;
    return 1;
}

int muscaps_host_register_image(const void *address_in_image, const char *label) {
    pthread_mutex_lock(&image_lock);
    int n = atomic_load(&image_count);
    int result = -1;
    if (n < MAX_IMAGES) {
        image_entry *entry = &images[n];
        memset(entry, 0, sizeof *entry);
        phdr_search search = {(uintptr_t)address_in_image, entry, 0};
        dl_iterate_phdr(find_image, &search);
        if (search.found && entry->range_count > 0) {
            strncpy(entry->label, label, sizeof entry->label - 1);
            atomic_store(&image_count, n + 1); // publish only complete entries
            result = 0;
        }
    }
    pthread_mutex_unlock(&image_lock);
    return result;
}

static const char *image_for_pc(uintptr_t pc) {
    int n = atomic_load(&image_count);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < images[i].range_count; r++)
            if (pc >= images[i].start[r] && pc < images[i].end[r]) return images[i].label;
    return NULL;
}

static uintptr_t faulting_pc(void *ucontext) {
    if (!ucontext) return 0;
    ucontext_t *uc = ucontext;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

// MARK: - The fatal-signal handler (async-signal-safe: write(2), sigaction(2), raise(3) only)
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
#define FATAL_COUNT (int)(sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction previous_actions[FATAL_COUNT];
static atomic_int installed;
static int chain_previous;

typedef struct {
    char text[1536];
    size_t length;
} message;

static void put(message *m, const char *s) {
    while (s && *s && m->length < sizeof m->text - 2) m->text[m->length++] = *s++;
}

static const char *signal_description(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (segmentation fault)";
    case SIGBUS: return "SIGBUS (bus error)";
    case SIGABRT: return "SIGABRT (abort)";
    case SIGFPE: return "SIGFPE (arithmetic exception)";
    case SIGILL: return "SIGILL (illegal instruction)";
    default: return "fatal signal";
    }
}

static void fatal_signal_handler(int sig, siginfo_t *info, void *ucontext) {
    int saved_errno = errno;
    message m = {.length = 0};
    put(&m, program_invocation_short_name);
    put(&m, ": fatal signal ");
    put(&m, signal_description(sig));
    const char *label = current_label, *call = current_call;
    const char *image = label ? NULL : image_for_pc(faulting_pc(ucontext));
    if (label) {
        put(&m, " in output plugin ");
        put(&m, label);
        put(&m, " during ");
        put(&m, call ? call : "a call");
        put(&m, "(); output plugins run inside the daemon, so this plugin crashed it");
    } else if (image) {
        put(&m, " in code of output plugin ");
        put(&m, image);
        put(&m, " (outside a host call: on a thread the plugin started?)");
    } else {
        put(&m, " (not inside an output plugin)");
    }
    m.text[m.length++] = '\n';
    for (size_t done = 0; done < m.length;) {
        ssize_t n = write(STDERR_FILENO, m.text + done, m.length - done);
        if (n > 0) done += (size_t)n;
        else if (n < 0 && errno == EINTR) continue;
        else break;
    }

    // Hand the signal on: to the previous handler (chain) or the default action (terminate + core).
    int index = 0;
    while (index < FATAL_COUNT && fatal_signals[index] != sig) index++;
    struct sigaction next;
    if (chain_previous && index < FATAL_COUNT && (previous_actions[index].sa_flags & SA_SIGINFO
            ? previous_actions[index].sa_sigaction != NULL
            : (previous_actions[index].sa_handler != SIG_DFL && previous_actions[index].sa_handler != SIG_IGN))) {
        next = previous_actions[index];
    } else {
        memset(&next, 0, sizeof next);
        next.sa_handler = SIG_DFL;
        sigemptyset(&next.sa_mask);
    }
    sigaction(sig, &next, NULL);
    errno = saved_errno;
    // A fault raised by the CPU (si_code > 0) repeats when the instruction re-executes on return, now
    // with the real siginfo for whoever handles it next. Anything else (abort(), kill, raise) is raised
    // again; it stays pending while this handler runs and is delivered as soon as it returns.
    int hardware_fault = info && info->si_code > 0 && sig != SIGABRT;
    if (!hardware_fault) raise(sig);
}

int muscaps_host_install_crash_handler(int chain) {
    int expected = 0;
    int status = muscaps_host_thread_prepare();
    if (!atomic_compare_exchange_strong(&installed, &expected, 1)) return status;
    chain_previous = chain;
    for (int i = 0; i < FATAL_COUNT; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = fatal_signal_handler;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        if (sigaction(fatal_signals[i], &action, &previous_actions[i]) != 0 && status == 0) status = errno;
    }
    return status;
}

int muscaps_host_crash_handler_installed(void) { return atomic_load(&installed); }

// MARK: - Alternate signal stacks
int muscaps_host_thread_prepare(void) {
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return 0; // already has one
    long minimum = sysconf(_SC_MINSIGSTKSZ);
    size_t size = 64 * 1024;
    if (minimum > 0 && (size_t)minimum * 4 > size) size = (size_t)minimum * 4;
    void *memory = malloc(size);
    if (!memory) return ENOMEM;
    stack_t stack = {.ss_sp = memory, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&stack, NULL) != 0) {
        int error = errno;
        free(memory);
        return error;
    }
    thread_altstack = memory;
    return 0;
}

void muscaps_host_thread_finish(void) {
    if (!thread_altstack) return;
    stack_t disable = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    if (sigaltstack(&disable, NULL) == 0) {
        free(thread_altstack);
        thread_altstack = NULL;
    }
}

// MARK: - Guarded calls
static void clear_error(char *error, size_t error_size) {
    if (error && error_size > 0) error[0] = '\0';
}

static void terminate_error(char *error, size_t error_size) {
    if (error && error_size > 0) error[error_size - 1] = '\0';
}

const muscaps_plugin_desc *muscaps_host_call_descriptor(const char *label, const void *symbol) {
    muscaps_plugin_descriptor_fn function;
    memcpy(&function, &symbol, sizeof function); // object pointer -> function pointer, as dlsym requires
    enter(label, "muscaps_plugin_descriptor");
    const muscaps_plugin_desc *descriptor = function();
    leave();
    return descriptor;
}

void *muscaps_host_call_create(const char *label, const muscaps_plugin_desc *descriptor,
                               const muscaps_plugin_config *config, char *error, size_t error_size) {
    clear_error(error, error_size);
    enter(label, "create");
    void *instance = descriptor->create(config, error, error_size);
    leave();
    terminate_error(error, error_size);
    return instance;
}

int muscaps_host_call_emit(const char *label, const muscaps_plugin_desc *descriptor, void *instance,
                           const muscaps_event *event, char *error, size_t error_size) {
    clear_error(error, error_size);
    enter(label, "emit");
    int status = descriptor->emit(instance, event, error, error_size);
    leave();
    terminate_error(error, error_size);
    return status;
}

int muscaps_host_call_flush(const char *label, const muscaps_plugin_desc *descriptor, void *instance,
                            char *error, size_t error_size) {
    clear_error(error, error_size);
    enter(label, "flush");
    int status = descriptor->flush(instance, error, error_size);
    leave();
    terminate_error(error, error_size);
    return status;
}

void muscaps_host_call_destroy(const char *label, const muscaps_plugin_desc *descriptor, void *instance) {
    enter(label, "destroy");
    descriptor->destroy(instance);
    leave();
}
