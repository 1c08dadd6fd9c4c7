#ifndef VMI_CLIBVIRT_H
#define VMI_CLIBVIRT_H
/*
 * libvirt for vm-install, loaded on first use with dlopen rather than linked: only jobs that
 * use libvirt load it, so vm-install-jobs --status and --list start as lean as before, and a
 * host without libvirt0 gets a clear error instead of a loader failure.
 *
 * Each libvirt function vm-install calls has a wrapper vmi_NAME with the same signature that
 * resolves NAME once. Call vmi_libvirt_load() first: it checks that every one is there (the
 * list below is kept with the wrappers); the wrappers assume it succeeded.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static inline void *vmi_libvirt_handle(int load) {
    static void *handle;
    if (!handle && load) handle = dlopen("libvirt.so.0", RTLD_NOW | RTLD_GLOBAL);
    return handle;
}

/* Every function below: all must be there, or none is called. */
static const char *const vmi_libvirt_functions[] = {
    "virConnectOpen",
    "virConnectClose",
    "virConnectGetCapabilities",
    "virConnectIsAlive",
    "virConnectSetKeepAlive",
    "virConnectRegisterCloseCallback",
    "virConnectDomainEventRegisterAny",
    "virConnectDomainEventDeregisterAny",
    "virGetLastError",
    "virResetLastError",
    "virSetErrorFunc",
    "virEventRegisterDefaultImpl",
    "virEventRunDefaultImpl",
    "virDomainDefineXML",
    "virDomainLookupByName",
    "virDomainLookupByUUIDString",
    "virDomainCreateWithFlags",
    "virDomainResume",
    "virDomainDestroy",
    "virDomainUndefineFlags",
    "virDomainGetXMLDesc",
    "virDomainGetState",
    "virDomainGetUUIDString",
    "virDomainIsPersistent",
    "virDomainFree",
    "virDomainScreenshot",
    "virDomainBlockStats",
    "virDomainSendKey",
    "virStoragePoolLookupByName",
    "virStoragePoolRefresh",
    "virStoragePoolFree",
    "virStorageVolCreateXML",
    "virStorageVolLookupByName",
    "virStorageVolGetXMLDesc",
    "virStorageVolGetPath",
    "virStorageVolGetKey",
    "virStorageVolDelete",
    "virStorageVolUpload",
    "virStorageVolFree",
    "virNodeGetInfo",
    "virNodeGetFreeMemory",
    "virConnectListAllDomains",
    "virDomainGetInfo",
    "virDomainGetMetadata",
    "virStreamNew",
    "virStreamSend",
    "virStreamRecv",
    "virStreamFinish",
    "virStreamAbort",
    "virStreamFree",
};

/* Returns NULL on success, else why libvirt cannot be used (dlerror()'s message, or the
 * first function the loaded libvirt lacks). */
static inline const char *vmi_libvirt_load(void) {
    void *handle = vmi_libvirt_handle(1);
    if (!handle) {
        const char *why = dlerror();
        return why ? why : "dlopen(libvirt.so.0) failed";
    }
    for (size_t i = 0; i < sizeof vmi_libvirt_functions / sizeof *vmi_libvirt_functions; i++) {
        if (!dlsym(handle, vmi_libvirt_functions[i])) return vmi_libvirt_functions[i];
    }
    return NULL;
}

#define VMI_LIBVIRT_FN(ret, name, params, args)                                   \
    static inline ret vmi_##name params {                                          \
        typedef ret (*vmi_fn_t) params;                                            \
        static vmi_fn_t fn;                                                        \
        if (!fn) fn = (vmi_fn_t)dlsym(vmi_libvirt_handle(0), #name);               \
        return fn args;                                                            \
    }

/* Connections, errors, the event loop. */
VMI_LIBVIRT_FN(virConnectPtr, virConnectOpen, (const char *name), (name))
VMI_LIBVIRT_FN(int, virConnectClose, (virConnectPtr c), (c))
VMI_LIBVIRT_FN(char *, virConnectGetCapabilities, (virConnectPtr c), (c))
VMI_LIBVIRT_FN(int, virConnectIsAlive, (virConnectPtr c), (c))
VMI_LIBVIRT_FN(int, virConnectSetKeepAlive, (virConnectPtr c, int interval, unsigned int count), (c, interval, count))
VMI_LIBVIRT_FN(int, virConnectRegisterCloseCallback, (virConnectPtr c, virConnectCloseFunc cb, void *opaque, virFreeCallback freecb), (c, cb, opaque, freecb))
VMI_LIBVIRT_FN(int, virConnectDomainEventRegisterAny, (virConnectPtr c, virDomainPtr d, int eventID, virConnectDomainEventGenericCallback cb, void *opaque, virFreeCallback freecb), (c, d, eventID, cb, opaque, freecb))
VMI_LIBVIRT_FN(int, virConnectDomainEventDeregisterAny, (virConnectPtr c, int callbackID), (c, callbackID))
VMI_LIBVIRT_FN(virErrorPtr, virGetLastError, (void), ())
VMI_LIBVIRT_FN(void, virResetLastError, (void), ())
VMI_LIBVIRT_FN(void, virSetErrorFunc, (void *userData, virErrorFunc handler), (userData, handler))
VMI_LIBVIRT_FN(int, virEventRegisterDefaultImpl, (void), ())
VMI_LIBVIRT_FN(int, virEventRunDefaultImpl, (void), ())

/* Domains. */
VMI_LIBVIRT_FN(virDomainPtr, virDomainDefineXML, (virConnectPtr c, const char *xml), (c, xml))
VMI_LIBVIRT_FN(virDomainPtr, virDomainLookupByName, (virConnectPtr c, const char *name), (c, name))
VMI_LIBVIRT_FN(virDomainPtr, virDomainLookupByUUIDString, (virConnectPtr c, const char *uuid), (c, uuid))
VMI_LIBVIRT_FN(int, virDomainCreateWithFlags, (virDomainPtr d, unsigned int flags), (d, flags))
VMI_LIBVIRT_FN(int, virDomainResume, (virDomainPtr d), (d))
VMI_LIBVIRT_FN(int, virDomainDestroy, (virDomainPtr d), (d))
VMI_LIBVIRT_FN(int, virDomainUndefineFlags, (virDomainPtr d, unsigned int flags), (d, flags))
VMI_LIBVIRT_FN(char *, virDomainGetXMLDesc, (virDomainPtr d, unsigned int flags), (d, flags))
VMI_LIBVIRT_FN(int, virDomainGetState, (virDomainPtr d, int *state, int *reason, unsigned int flags), (d, state, reason, flags))
VMI_LIBVIRT_FN(int, virDomainGetUUIDString, (virDomainPtr d, char *buf), (d, buf))
VMI_LIBVIRT_FN(int, virDomainIsPersistent, (virDomainPtr d), (d))
VMI_LIBVIRT_FN(int, virDomainFree, (virDomainPtr d), (d))
VMI_LIBVIRT_FN(char *, virDomainScreenshot, (virDomainPtr d, virStreamPtr s, unsigned int screen, unsigned int flags), (d, s, screen, flags))
VMI_LIBVIRT_FN(int, virDomainSendKey, (virDomainPtr d, unsigned int codeset, unsigned int holdtime, unsigned int *keycodes, int nkeycodes, unsigned int flags), (d, codeset, holdtime, keycodes, nkeycodes, flags))
VMI_LIBVIRT_FN(int, virDomainBlockStats, (virDomainPtr d, const char *disk, virDomainBlockStatsPtr stats, size_t size), (d, disk, stats, size))

/* Placement: the host's memory and what its domains use. */
VMI_LIBVIRT_FN(int, virNodeGetInfo, (virConnectPtr c, virNodeInfoPtr info), (c, info))
VMI_LIBVIRT_FN(unsigned long long, virNodeGetFreeMemory, (virConnectPtr c), (c))
VMI_LIBVIRT_FN(int, virConnectListAllDomains, (virConnectPtr c, virDomainPtr **domains, unsigned int flags), (c, domains, flags))
VMI_LIBVIRT_FN(int, virDomainGetInfo, (virDomainPtr d, virDomainInfoPtr info), (d, info))
VMI_LIBVIRT_FN(char *, virDomainGetMetadata, (virDomainPtr d, int type, const char *uri, unsigned int flags), (d, type, uri, flags))

/* Storage. */
VMI_LIBVIRT_FN(virStoragePoolPtr, virStoragePoolLookupByName, (virConnectPtr c, const char *name), (c, name))
VMI_LIBVIRT_FN(int, virStoragePoolRefresh, (virStoragePoolPtr p, unsigned int flags), (p, flags))
VMI_LIBVIRT_FN(int, virStoragePoolFree, (virStoragePoolPtr p), (p))
VMI_LIBVIRT_FN(virStorageVolPtr, virStorageVolCreateXML, (virStoragePoolPtr p, const char *xml, unsigned int flags), (p, xml, flags))
VMI_LIBVIRT_FN(virStorageVolPtr, virStorageVolLookupByName, (virStoragePoolPtr p, const char *name), (p, name))
VMI_LIBVIRT_FN(char *, virStorageVolGetXMLDesc, (virStorageVolPtr v, unsigned int flags), (v, flags))
VMI_LIBVIRT_FN(char *, virStorageVolGetPath, (virStorageVolPtr v), (v))
VMI_LIBVIRT_FN(const char *, virStorageVolGetKey, (virStorageVolPtr v), (v))
VMI_LIBVIRT_FN(int, virStorageVolDelete, (virStorageVolPtr v, unsigned int flags), (v, flags))
VMI_LIBVIRT_FN(int, virStorageVolUpload, (virStorageVolPtr v, virStreamPtr s, unsigned long long offset, unsigned long long length, unsigned int flags), (v, s, offset, length, flags))
VMI_LIBVIRT_FN(int, virStorageVolFree, (virStorageVolPtr v), (v))

/* Streams. */
VMI_LIBVIRT_FN(virStreamPtr, virStreamNew, (virConnectPtr c, unsigned int flags), (c, flags))
VMI_LIBVIRT_FN(int, virStreamSend, (virStreamPtr s, const char *data, size_t n), (s, data, n))
VMI_LIBVIRT_FN(int, virStreamRecv, (virStreamPtr s, char *data, size_t n), (s, data, n))
VMI_LIBVIRT_FN(int, virStreamFinish, (virStreamPtr s), (s))
VMI_LIBVIRT_FN(int, virStreamAbort, (virStreamPtr s), (s))
VMI_LIBVIRT_FN(int, virStreamFree, (virStreamPtr s), (s))

#endif
