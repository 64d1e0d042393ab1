<#-- Required action UPDATE_PASSWORD: the first sign-in with a temporary password (Article 8.2) and
     after a handover (8.4). The note "you must change your initial password" is always shown, so
     Keycloak's own warning (updatePasswordMessage) is not repeated above it. Keycloak reports
     errors per field: "password" (the new password) and "password-confirm". Mirrored by the
     stand-in's templates/update_password.html. -->
<#import "template.ftl" as layout>
<#assign newError = messagesPerField.existsError('password')>
<#assign confirmError = messagesPerField.existsError('password-confirm')>
<@layout.registrationLayout displayMessage=!(newError || confirmError || ((message.type)!'') == 'warning'); section>
    <#if section = "header">
        ${msg("updatePasswordTitle")}
    <#elseif section = "form">
        <p class="phoi-note" id="phoi-first-password-note">${msg("phoiFirstPasswordNote")}</p>
        <#if newError || confirmError>
        <div class="phoi-alert phoi-alert--error" id="phoi-error-summary" role="alert">
            <p class="phoi-alert__title">${msg("phoiErrorSummaryTitle")}</p>
            <ul>
                <#if newError><li><a href="#password-new">${kcSanitize(messagesPerField.get('password'))?no_esc}</a></li></#if>
                <#if confirmError><li><a href="#password-confirm">${kcSanitize(messagesPerField.get('password-confirm'))?no_esc}</a></li></#if>
            </ul>
        </div>
        </#if>
        <form id="kc-passwd-update-form" action="${url.loginAction}" method="post" novalidate>
            <#-- for password managers: which account the new password belongs to -->
            <input type="text" id="username" name="username" value="${(username)!''}" autocomplete="username" readonly hidden>
            <div class="phoi-field<#if newError> phoi-field--error</#if>">
                <label for="password-new">${msg("passwordNew")}</label>
                <p class="phoi-hint" id="password-policy">${msg("phoiPasswordPolicyHint", ((passwordPolicies.length)!12)?c)}</p>
                <#if newError><p class="phoi-field-error" id="input-error-password">${kcSanitize(messagesPerField.get('password'))?no_esc}</p></#if>
                <input id="password-new" name="password-new" type="password" autocomplete="new-password" required autofocus
                       aria-describedby="password-policy<#if newError> input-error-password</#if>"<#if newError> aria-invalid="true"</#if>>
            </div>
            <div class="phoi-field<#if confirmError> phoi-field--error</#if>">
                <label for="password-confirm">${msg("passwordConfirm")}</label>
                <#if confirmError><p class="phoi-field-error" id="input-error-password-confirm">${kcSanitize(messagesPerField.get('password-confirm'))?no_esc}</p></#if>
                <input id="password-confirm" name="password-confirm" type="password" autocomplete="new-password"
                       required<#if confirmError> aria-invalid="true" aria-describedby="input-error-password-confirm"</#if>>
            </div>
            <div class="phoi-checkbox">
                <input type="checkbox" id="logout-sessions" name="logout-sessions" value="on" checked>
                <label for="logout-sessions">${msg("logoutOtherSessions")}</label>
            </div>
            <div class="phoi-actions">
                <button type="submit" id="kc-submit" name="login">${msg("phoiSavePassword")}</button>
                <#if isAppInitiatedAction??>
                <button type="submit" id="kc-cancel" name="cancel-aia" value="true" class="phoi-button--secondary" formnovalidate>${msg("doCancel")}</button>
                </#if>
            </div>
        </form>
    </#if>
</@layout.registrationLayout>
