<#-- Logout confirmation (a logout request without id_token_hint). Base's page, without its inline
     onsubmit handler. Mirrored by the stand-in's templates/logout_confirm.html. -->
<#import "template.ftl" as layout>
<@layout.registrationLayout; section>
    <#if section = "header">
        ${msg("logoutConfirmTitle")}
    <#elseif section = "form">
        <p>${msg("logoutConfirmHeader")}</p>
        <form id="kc-logout-confirm" action="${url.logoutConfirmAction}" method="post">
            <input type="hidden" name="session_code" value="${logoutConfirm.code}">
            <div class="phoi-actions">
                <button type="submit" id="kc-logout" name="confirmLogout" value="on">${msg("doLogout")}</button>
            </div>
        </form>
        <#if !logoutConfirm.skipLink && (client.baseUrl)?has_content>
        <p><a id="backToApplication" href="${client.baseUrl}">${kcSanitize(msg("backToApplication"))?no_esc}</a></p>
        </#if>
    </#if>
</@layout.registrationLayout>
